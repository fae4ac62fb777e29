// Client-side routing: the server answers index.html for every page path (see _redirects).
const routes = [
  [/^\/$/, () => "<h1>Home</h1><p>A single-page app on fazt.</p>"],
  [/^\/about$/, () => "<h1>About</h1><p>Routed in the browser.</p>"],
  [/^\/users\/([^/]+)$/, (id) => `<h1>User ${decodeURIComponent(id)}</h1>`],
];

function render() {
  const path = location.pathname;
  for (const [pattern, view] of routes) {
    const match = path.match(pattern);
    if (match) {
      document.getElementById("view").innerHTML = view(...match.slice(1));
      return;
    }
  }
  document.getElementById("view").innerHTML = "<h1>Not found</h1>";
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  render();
});
window.addEventListener("popstate", render);
render();
