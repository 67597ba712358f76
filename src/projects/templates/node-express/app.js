const path = require("node:path");
const express = require("express");

const MAX_TEXT = 280;

/** Builds the app. Each app keeps its own messages, so tests start from a clean slate. */
function createApp() {
  const app = express();
  const messages = [];
  let nextId = 1;

  app.disable("x-powered-by");
  app.use(express.json({ limit: "16kb" }));
  app.use(express.static(path.join(__dirname, "public")));

  app.get("/api/health", (req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/api/messages", (req, res) => {
    res.json([...messages].reverse());
  });

  app.post("/api/messages", (req, res) => {
    const text = typeof req.body?.text === "string" ? req.body.text.trim() : "";
    if (text === "") return res.status(400).json({ error: 'Send {"text": "…"} with some text.' });
    if (text.length > MAX_TEXT) return res.status(400).json({ error: `A message is at most ${MAX_TEXT} characters.` });
    const message = { id: nextId++, text, createdAt: new Date().toISOString() };
    messages.push(message);
    res.status(201).json(message);
  });

  app.use("/api", (req, res) => {
    res.status(404).json({ error: "Not found." });
  });

  // Bad JSON and other errors: answer in JSON, never with a stack trace.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    const status = err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) console.error(err);
    res.status(status).json({ error: status === 500 ? "Something went wrong." : err.message });
  });

  return app;
}

module.exports = { createApp };
