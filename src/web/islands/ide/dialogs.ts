/**
 * The IDE's modal questions, on the server-rendered <dialog> elements (focus is trapped and
 * Escape cancels natively): a text prompt whose answer is checked before the dialog closes,
 * with the error shown beside the field, and a yes/no confirmation.
 */
import { byId } from "./dom.ts";

export type PromptOptions = {
  title: string;
  label: string;
  hint?: string;
  value?: string;
  /** Selected when the dialog opens (e.g. the name without its extension). */
  select?: [number, number];
  ok: string;
  /** Returns an error to show beside the field, or null to accept; may do the work itself. */
  submit(value: string): Promise<string | null> | string | null;
};

/** Asks for one line of text; resolves true when `submit` accepted an answer, false on cancel. */
export function prompt(o: PromptOptions): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>("ide-prompt");
  const form = dialog.querySelector("form");
  const input = byId<HTMLInputElement>("ide-prompt-input");
  const error = byId("ide-prompt-error");
  const field = byId("ide-prompt-field");
  const ok = byId<HTMLButtonElement>("ide-prompt-ok");
  byId("ide-prompt-title").textContent = o.title;
  byId("ide-prompt-label").textContent = o.label;
  byId("ide-prompt-hint").textContent = o.hint ?? "";
  ok.textContent = o.ok;
  input.value = o.value ?? "";
  const showError = (msg: string | null) => {
    error.textContent = msg ?? "";
    error.hidden = !msg;
    field.classList.toggle("has-error", Boolean(msg));
    input.setAttribute("aria-invalid", msg ? "true" : "false");
  };
  showError(null);
  return new Promise((resolve) => {
    let busy = false;
    const onSubmit = async (e: SubmitEvent) => {
      const submitter = e.submitter as HTMLButtonElement | null;
      if (submitter?.value === "cancel") return; // the dialog closes itself
      e.preventDefault();
      if (busy) return;
      busy = true;
      ok.disabled = true;
      try {
        const msg = await o.submit(input.value.trim());
        if (msg) {
          showError(msg);
          input.focus();
        } else {
          dialog.close("ok");
        }
      } finally {
        busy = false;
        ok.disabled = false;
      }
    };
    const onClose = () => {
      form?.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("close", onClose);
      resolve(dialog.returnValue === "ok");
    };
    form?.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
    if (o.select) input.setSelectionRange(o.select[0], o.select[1]);
    else input.select();
  });
}

/** Asks a yes/no question; the safe answer (Cancel) has the focus. */
export function confirm(title: string, text: string, ok: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>("ide-confirm");
  byId("ide-confirm-title").textContent = title;
  byId("ide-confirm-text").textContent = text;
  byId("ide-confirm-ok").textContent = ok;
  return new Promise((resolve) => {
    const onClose = () => {
      dialog.removeEventListener("close", onClose);
      resolve(dialog.returnValue === "ok");
    };
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
  });
}
