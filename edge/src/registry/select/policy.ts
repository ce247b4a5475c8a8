import { withCapacityFilter } from "./capacity.ts";
import { selectByScore } from "./score.ts";
import type { SelectStrategy } from "./strategy.ts";

/**
 * Where a new room goes: healthy, active nodes of the kind; not the ones above 85 %
 * (unless all are); then the best distance + load score among the nearest few.
 */
export const placeRoom: SelectStrategy = withCapacityFilter(selectByScore());
