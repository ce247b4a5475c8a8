import { createSignal, Show } from "solid-js";
import { createRoom, parseRoomInput } from "../lib/api.ts";
import { navigate } from "../lib/router.ts";

export function LandingPage() {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [code, setCode] = createSignal("");

  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { roomId } = await createRoom();
      navigate(`/r/${roomId}`);
    } catch (e) {
      setError(`Could not create a room: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const joinByCode = (event: SubmitEvent) => {
    event.preventDefault();
    const roomId = parseRoomInput(code());
    if (roomId) navigate(`/r/${roomId}`);
    else setError("That is not a room code or link (it looks like abcd-efgh-ijkl).");
  };

  return (
    <main class="landing">
      <h1 class="brand">Meridian</h1>
      <p class="tagline">Video calls that start at the edge nearest you.</p>
      <button class="primary" onClick={create} disabled={busy()} data-testid="create-room">
        {busy() ? "Creating…" : "New meeting"}
      </button>
      <form class="join-by-code" onSubmit={joinByCode}>
        <label for="room-code">Join with a code or link</label>
        <div class="row">
          <input id="room-code" value={code()} onInput={(e) => setCode(e.currentTarget.value)} placeholder="abcd-efgh-ijkl" autocomplete="off" />
          <button type="submit">Join</button>
        </div>
      </form>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
    </main>
  );
}
