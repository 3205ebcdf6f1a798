import "uplot/dist/uPlot.min.css";
import "./widget.css";
import type { RenderProps } from "@anywidget/types";
import { createBuilder } from "./builder";
import { Store } from "./store";
import type { Model } from "./types";

export default {
  render({ model, el }: RenderProps<Model>) {
    return createBuilder(new Store(model), el);
  },
};
