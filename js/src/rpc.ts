// Calling the widget's Python commands (save, preview, open...). This speaks anywidget's
// command protocol over model.send, which every host supports (JupyterLab, Notebook 7,
// VS Code, marimo): marimo has model.send but not anywidget's experimental.invoke. Every
// call has a timeout and can be cancelled.

import type { AnyModel } from "@anywidget/types";

export class CallError extends Error {
  constructor(
    message: string,
    readonly reason: "timeout" | "cancelled",
  ) {
    super(message);
  }
}

interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

let counter = 0;

function newId(): string {
  counter += 1;
  const random = globalThis.crypto?.randomUUID?.() ?? Math.random().toString(36).slice(2);
  return `${random}-${counter}`;
}

/** Run the Python command ``name`` with ``msg``; resolves with its response. */
export function call<T>(model: AnyModel, name: string, msg: unknown = {}, options: CallOptions = {}): Promise<T> {
  const { timeoutMs = 30_000, signal } = options;
  const id = newId();
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CallError(`${name} was cancelled`, "cancelled"));
      return;
    }
    const handler = (message: { id?: string; kind?: string; response?: T }): void => {
      if (message?.id !== id || message.kind !== "anywidget-command-response") return;
      finish(() => resolve(message.response as T));
    };
    const onAbort = (): void => finish(() => reject(new CallError(`${name} was cancelled`, "cancelled")));
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new CallError(`no answer from Python after ${Math.round(timeoutMs / 1000)} s (is the kernel busy or gone?)`, "timeout")),
        ),
      timeoutMs,
    );
    function finish(settle: () => void): void {
      clearTimeout(timer);
      model.off("msg:custom", handler);
      signal?.removeEventListener("abort", onAbort);
      settle();
    }
    signal?.addEventListener("abort", onAbort);
    model.on("msg:custom", handler);
    model.send({ id, kind: "anywidget-command", name, msg });
  });
}
