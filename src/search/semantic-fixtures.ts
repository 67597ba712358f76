/**
 * A small corpus for the semantic-search tests: files the way people write them, on unrelated
 * subjects, so a test can ask whether a plain-words query finds the one file it describes.
 * Used by *.test.ts only.
 */
export const CORPUS: Record<string, string> = {
  "src/sales-chart.js": `import * as d3 from "d3";

// Monthly sales as vertical bars, with axes.
export function renderSales(el, data) {
  const width = 640, height = 400, margin = { top: 20, right: 20, bottom: 30, left: 40 };
  const x = d3.scaleBand().domain(data.map((d) => d.month)).range([margin.left, width - margin.right]).padding(0.1);
  const y = d3.scaleLinear().domain([0, d3.max(data, (d) => d.total)]).nice().range([height - margin.bottom, margin.top]);
  const svg = d3.select(el).append("svg").attr("viewBox", [0, 0, width, height]);
  svg.append("g").attr("fill", "steelblue")
    .selectAll("rect").data(data).join("rect")
    .attr("x", (d) => x(d.month)).attr("y", (d) => y(d.total))
    .attr("height", (d) => y(0) - y(d.total)).attr("width", x.bandwidth());
  svg.append("g").attr("transform", \`translate(0,\${height - margin.bottom})\`).call(d3.axisBottom(x));
  svg.append("g").attr("transform", \`translate(\${margin.left},0)\`).call(d3.axisLeft(y));
  return svg.node();
}
`,
  "server/auth/passwords.ts": `import argon2 from "argon2";

const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Stores only the argon2id digest; the salt is generated and kept inside it. */
export async function hashSecret(plain: string): Promise<string> {
  return argon2.hash(plain, OPTIONS);
}

export async function checkSecret(digest: string, attempt: string): Promise<boolean> {
  try {
    return await argon2.verify(digest, attempt);
  } catch {
    return false;
  }
}
`,
  "server/http.ts": `import { createServer } from "node:http";

export function start(port: number) {
  const server = createServer((req, res) => {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    res.writeHead(404);
    res.end("not found");
  });
  server.listen(port);
  return server;
}
`,
  "lib/dates.py": `from datetime import datetime, timezone

def iso_week(day: datetime) -> int:
    """The ISO week number of a day, in UTC."""
    return day.astimezone(timezone.utc).isocalendar()[1]

def format_relative(then: datetime, now: datetime) -> str:
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes ago"
    return f"{int(seconds // 3600)} hours ago"
`,
  "lib/csv.go": `package lib

import (
	"encoding/csv"
	"io"
)

// ReadRecords reads every row of a CSV stream, skipping the header line.
func ReadRecords(r io.Reader) ([][]string, error) {
	reader := csv.NewReader(r)
	rows, err := reader.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		rows = rows[1:]
	}
	return rows, nil
}
`,
  "web/TodoList.jsx": `import { useState } from "react";

export function TodoList() {
  const [items, setItems] = useState([]);
  const [text, setText] = useState("");
  const add = () => {
    if (!text.trim()) return;
    setItems([...items, { id: Date.now(), text, done: false }]);
    setText("");
  };
  return (
    <div>
      <input value={text} onChange={(e) => setText(e.target.value)} />
      <button onClick={add}>Add</button>
      <ul>{items.map((i) => <li key={i.id}>{i.text}</li>)}</ul>
    </div>
  );
}
`,
  "db/migrations/001_users.sql": `CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE INDEX users_created ON users(created_at);
`,
  "docs/deploy.md": `# Deploying

## Docker

Build the image with \`docker build -t app .\` and run it with \`docker run -p 8080:8080 app\`.

## Environment

Set \`DATABASE_URL\` before starting the container.
`,
  "util/quicksort.rs": `/// Sorts a slice in place with quicksort (Lomuto partition).
pub fn quicksort<T: PartialOrd>(v: &mut [T]) {
    if v.len() <= 1 {
        return;
    }
    let pivot = v.len() - 1;
    let mut store = 0;
    for i in 0..pivot {
        if v[i] <= v[pivot] {
            v.swap(i, store);
            store += 1;
        }
    }
    v.swap(store, pivot);
    let (left, right) = v.split_at_mut(store);
    quicksort(left);
    quicksort(&mut right[1..]);
}
`,
};
