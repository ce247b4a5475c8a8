import { onMount } from "solid-js";
import { navigate } from "../lib/router.ts";

export function NotFoundPage() {
  onMount(() => (document.title = "Page not found · Meridian"));
  return (
    <main class="message-page" data-page="not-found">
      <p class="big-code" aria-hidden="true">
        404
      </p>
      <h1>Page not found</h1>
      <p class="muted">There is nothing at this address. Meeting links look like /r/abcd-efgh-ijkl.</p>
      <div class="row">
        <button class="primary" onClick={() => navigate("/")}>
          Go to Meridian
        </button>
      </div>
    </main>
  );
}
