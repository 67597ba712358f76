/** Form building blocks: every field shows its error beside it, every form carries the CSRF token. */
import type { Child, Html } from "./jsx/jsx-runtime.ts";

export type FieldErrors = Record<string, string | undefined>;

export type FieldProps = {
  label: string;
  name: string;
  type?: "text" | "email" | "password" | "url" | "number" | "search";
  value?: string;
  error?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  autofocus?: boolean;
  maxlength?: number;
  minlength?: number;
  pattern?: string;
  placeholder?: string;
};

export function Field(p: FieldProps): Html {
  const id = `f-${p.name}`;
  const errId = `${id}-error`;
  const hintId = `${id}-hint`;
  const described = [p.error ? errId : "", p.hint ? hintId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={p.error ? "field has-error" : "field"}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? "text"}
        value={p.type === "password" ? undefined : p.value}
        required={p.required}
        autocomplete={p.autocomplete}
        autofocus={p.autofocus}
        maxlength={p.maxlength}
        minlength={p.minlength}
        pattern={p.pattern}
        placeholder={p.placeholder}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={described}
      />
      {p.hint ? (
        <p class="hint" id={hintId}>
          {p.hint}
        </p>
      ) : null}
      {p.error ? (
        <p class="field-error" id={errId} role="alert">
          {p.error}
        </p>
      ) : null}
    </div>
  );
}

export type SelectProps = { label: string; name: string; options: [value: string, label: string][]; value?: string; error?: string };

export function Select(p: SelectProps): Html {
  const id = `f-${p.name}`;
  return (
    <div class={p.error ? "field has-error" : "field"}>
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} aria-invalid={p.error ? "true" : undefined} aria-describedby={p.error ? `${id}-error` : undefined}>
        {p.options.map(([v, l]) => (
          <option value={v} selected={v === p.value}>
            {l}
          </option>
        ))}
      </select>
      {p.error ? (
        <p class="field-error" id={`${id}-error`} role="alert">
          {p.error}
        </p>
      ) : null}
    </div>
  );
}

export type TextAreaProps = { label: string; name: string; value?: string; error?: string; rows?: number; maxlength?: number };

export function TextArea(p: TextAreaProps): Html {
  const id = `f-${p.name}`;
  return (
    <div class={p.error ? "field has-error" : "field"}>
      <label for={id}>{p.label}</label>
      <textarea id={id} name={p.name} rows={p.rows ?? 3} maxlength={p.maxlength} aria-invalid={p.error ? "true" : undefined}>
        {p.value ?? ""}
      </textarea>
      {p.error ? (
        <p class="field-error" id={`${id}-error`} role="alert">
          {p.error}
        </p>
      ) : null}
    </div>
  );
}

/** A real form that works without JavaScript; htmx may enhance it. */
export function Form(p: { action: string; csrf: string; children?: Child; class?: string; id?: string; hxTarget?: string }): Html {
  return (
    <form method="post" action={p.action} class={p.class} id={p.id} novalidate>
      <input type="hidden" name="_csrf" value={p.csrf} />
      {p.children}
    </form>
  );
}

/** A form-level message (errors that belong to no single field, or a success note). */
export function Flash(p: { kind: "error" | "ok" | "info"; children?: Child }): Html {
  return (
    <div class={`flash ${p.kind}`} role={p.kind === "error" ? "alert" : "status"}>
      {p.children}
    </div>
  );
}
