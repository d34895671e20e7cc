/**
 * Line charts made with Vega-Lite (compiled to Vega, rendered headless to SVG) and turned into
 * PNG by resvg. One line per series.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface LinePlot {
  title: string;
  subtitle?: string | string[];
  xTitle: string;
  yTitle: string;
  /** Rows {x, y, series}. */
  rows: Array<{ x: number; y: number; series: string }>;
  /** Horizontal reference lines, e.g. 99% of the full-data accuracy (an empty label draws no text). */
  rules?: Array<{ y: number; label: string }>;
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

export function lineSpec(plot: LinePlot): TopLevelSpec {
  const y = { field: 'y', type: 'quantitative' as const, title: plot.yTitle, scale: { zero: false, ...(plot.yDomain ? { domain: plot.yDomain } : {}) } };
  const rules = plot.rules ?? [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: plot.title, anchor: 'start', ...(plot.subtitle ? { subtitle: plot.subtitle } : {}) },
    width: plot.width ?? 600,
    height: plot.height ?? 320,
    background: 'white',
    config: { font: 'DejaVu Sans' },
    layer: [
      {
        data: { values: plot.rows },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: plot.xTitle, scale: { zero: false, nice: false } },
          y,
          color: { field: 'series', type: 'nominal', title: 'strategy', legend: { orient: 'bottom-right', labelLimit: 400 } },
          // Dashes and markers too, so curves that coincide or print in grey stay apart.
          strokeDash: { field: 'series', type: 'nominal', title: 'strategy' },
          shape: { field: 'series', type: 'nominal', title: 'strategy' },
        },
      },
      ...(rules.length
        ? [
            {
              data: { values: rules },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
              encoding: { y: { field: 'y', type: 'quantitative' as const } },
            },
            {
              data: { values: rules.filter((rule) => rule.label !== '') },
              mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -6, color: '#666', fontSize: 10 },
              encoding: { y: { field: 'y', type: 'quantitative' as const }, x: { value: 0 }, text: { field: 'label', type: 'nominal' as const } },
            },
          ]
        : []),
    ],
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, width = 800): Buffer {
  const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: width }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}
