import "uplot/dist/uPlot.min.css";
import "./widget.css";
import type { RenderProps } from "@anywidget/types";
import { renderBuilder, type Model } from "./view";

export default {
  render({ model, el, experimental }: RenderProps<Model>) {
    return renderBuilder(model, el, experimental);
  },
};
