#!/bin/bash
# Scale-in and instance refresh must not drop calls: the autoscaling group's termination
# hook holds the instance in Terminating:Wait, and IMDS shows the target state
# "Terminated" meanwhile. Stopping the SFU unit then is the same drain as a manual stop.
# Nothing completes the hook (that would need the AWS API and a role permission): the
# group's heartbeat timeout, longer than the unit's stop timeout, lets termination go on.
set -uo pipefail
imds=http://169.254.169.254/latest
unit=meridian-sfu.service
# Outside an autoscaling group the path is a 404, and an IMDS hiccup is retried by the
# next tick of the timer: neither is a failure worth a unit in "failed" state.
token="$(curl -fsS --max-time 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$imds/api/token" 2>/dev/null)" || exit 0
state="$(curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/autoscaling/target-lifecycle-state" 2>/dev/null)" || exit 0
if [ "$state" = Terminated ] && systemctl is-active --quiet "$unit"; then
  echo "meridian: autoscaling is terminating this instance: stopping $unit (it drains first)"
  # --no-block: the drain may take the whole stop timeout; the next ticks see the unit
  # deactivating and leave it be.
  systemctl stop --no-block "$unit"
fi
exit 0
