import { lazy, Match, Suspense, Switch } from "solid-js";
import { path, roomIdFromPath } from "./lib/router.ts";
import { LandingPage } from "./pages/landing.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";

/** The call lives in its own chunk (mediasoup-client included): the landing page never pays for it. */
const RoomPage = lazy(() => import("./pages/room.tsx"));

export function App() {
  return (
    <Switch fallback={<NotFoundPage />}>
      <Match when={path() === "/"}>
        <LandingPage />
      </Match>
      <Match when={roomIdFromPath(path())} keyed>
        {(roomId) => (
          <Suspense fallback={<p class="loading" role="status">Opening the meeting…</p>}>
            <RoomPage roomId={roomId} />
          </Suspense>
        )}
      </Match>
    </Switch>
  );
}
