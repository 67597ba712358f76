// A to-do list kept in the browser's localStorage. No framework, no build step.
const STORAGE_KEY = "todos";

function load() {
  try {
    const items = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function save(items) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(items));
}

function render(items) {
  const list = document.getElementById("todo-list");
  list.replaceChildren(
    ...items.map((item, index) => {
      const li = document.createElement("li");
      li.classList.toggle("done", item.done);

      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = item.done;
      box.setAttribute("aria-label", `Done: ${item.text}`);
      box.addEventListener("change", () => update(items, index, { ...item, done: box.checked }));

      const text = document.createElement("span");
      text.textContent = item.text; // textContent, never innerHTML: user text stays text

      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${item.text}`);
      remove.addEventListener("click", () => update(items, index, null));

      li.append(box, text, remove);
      return li;
    }),
  );
  document.getElementById("todo-empty").hidden = items.length > 0;
}

function update(items, index, next) {
  const copy = items.slice();
  if (next === null) copy.splice(index, 1);
  else copy[index] = next;
  save(copy);
  render(copy);
}

document.getElementById("todo-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("todo-text");
  const text = input.value.trim();
  if (!text) return;
  const items = [...load(), { text, done: false }];
  save(items);
  render(items);
  input.value = "";
  input.focus();
});

render(load());
