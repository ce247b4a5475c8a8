export function NotFoundPage() {
  return (
    <main class="landing">
      <h1>Page not found</h1>
      <a href="/">Back to Meridian</a>
    </main>
  );
}
