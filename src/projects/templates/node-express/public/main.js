// Talks to the JSON API in app.js. User text is always set with textContent, never as HTML.
const form = document.getElementById("message-form");
const input = document.getElementById("message-text");
const errorText = document.getElementById("message-error");
const list = document.getElementById("messages");

async function refresh() {
  const res = await fetch("/api/messages");
  const messages = await res.json();
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = m.createdAt;
      time.textContent = new Date(m.createdAt).toLocaleTimeString();
      li.append(document.createTextNode(m.text + " "), time);
      return li;
    }),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorText.textContent = "";
  const res = await fetch("/api/messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: input.value }),
  });
  if (!res.ok) {
    errorText.textContent = (await res.json()).error;
    input.focus();
    return;
  }
  input.value = "";
  await refresh();
});

refresh();
