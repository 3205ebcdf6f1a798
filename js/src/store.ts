// The model layer: typed access to the widget's traits, and subscriptions per trait so
// that each part of the view updates only when what it shows changes.

import type { AnyModel } from "@anywidget/types";
import type { Model } from "./types";

export class Store {
  private readonly subscriptions: [string, () => void][] = [];

  constructor(readonly model: AnyModel<Model>) {}

  get<K extends keyof Model>(key: K): Model[K] {
    return this.model.get(key);
  }

  set<K extends keyof Model>(key: K, value: Model[K]): void {
    this.model.set(key, value);
    this.model.save_changes();
  }

  /** Call ``update`` now and whenever one of ``keys`` changes. */
  watch(keys: (keyof Model)[], update: () => void): void {
    for (const key of keys) {
      const event = `change:${String(key)}`;
      this.model.on(event, update);
      this.subscriptions.push([event, update]);
    }
    update();
  }

  dispose(): void {
    for (const [event, update] of this.subscriptions) this.model.off(event, update);
    this.subscriptions.length = 0;
  }
}
