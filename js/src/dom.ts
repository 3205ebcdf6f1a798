// A little DOM building, so that the view reads like the form it draws.

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "testid") el.dataset["testid"] = value;
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

/** Replace a select's options, keeping its value when it is still among them. */
export function setOptions(select: HTMLSelectElement, items: { value: string; label: string; disabled?: boolean }[]): void {
  const current = select.value;
  select.replaceChildren(
    ...items.map((i) => {
      const option = h("option", { value: i.value }, i.label);
      option.disabled = Boolean(i.disabled);
      return option;
    }),
  );
  if (items.some((i) => i.value === current)) select.value = current;
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}
