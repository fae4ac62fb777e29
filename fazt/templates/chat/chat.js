// The site's WebSocket is at /ws on the page's own host (ws:// or wss:// like the page).
const scheme = location.protocol === "https:" ? "wss" : "ws";
let socket;

function show(text) {
  const item = document.createElement("li");
  item.textContent = text;
  document.getElementById("log").append(item);
}

function connect() {
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onmessage = (event) => show(event.data);
  socket.onclose = () => setTimeout(connect, 1000);  // reconnect after a restart or a deploy
}

document.getElementById("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value && socket.readyState === WebSocket.OPEN) socket.send(input.value);
  input.value = "";
});
connect();
