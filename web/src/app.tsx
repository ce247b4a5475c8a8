import { Match, Switch } from "solid-js";
import { path, roomIdFromPath } from "./lib/router.ts";
import { CallPage } from "./pages/call.tsx";
import { LandingPage } from "./pages/landing.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";

export function App() {
  return (
    <Switch fallback={<NotFoundPage />}>
      <Match when={path() === "/"}>
        <LandingPage />
      </Match>
      <Match when={roomIdFromPath(path())} keyed>
        {(roomId) => <CallPage roomId={roomId} />}
      </Match>
    </Switch>
  );
}
