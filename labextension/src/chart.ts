/**
 * The rating-over-time line chart (Chart.js 4, only the pieces a line chart needs are registered so the rest of
 * the library is tree-shaken away).
 *
 * Colours come from JupyterLab's CSS variables at render time; `refreshTheme()` re-reads them (called on
 * `IThemeManager.themeChanged`). The container carries `data-points` = the number of points drawn.
 */
import {
  Chart,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type TooltipItem
} from 'chart.js';

import { h } from './dom';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip);

/** One point: the rating after a battle (or the starting rating). */
export interface IRatingPoint {
  /** Epoch seconds. */
  time: number;
  rating: number;
  /** Tooltip line, e.g. "win vs Bob". */
  label: string;
}

export class RatingChart {
  constructor() {
    this._canvas = h('canvas', { role: 'img', 'aria-label': 'Rating over time' });
    this.node = h(
      'div',
      { class: 'jp-DuelChart', testid: 'duel-rating-chart', 'data-points': 0 },
      h('div', { class: 'jp-DuelChart-canvasBox' }, this._canvas)
    );
    this._empty = h('div', { class: 'jp-DuelChart-empty jp-DuelSidebar-hint' }, 'No rated battle yet.');
    this.node.append(this._empty);
  }

  readonly node: HTMLDivElement;

  /** Draw these points (oldest first). */
  update(points: IRatingPoint[]): void {
    this._points = points;
    this.node.dataset.points = String(points.length);
    this._empty.hidden = points.length > 0;
    this._render();
  }

  /** Re-read the theme's colours and redraw. */
  refreshTheme(): void {
    this._render();
  }

  dispose(): void {
    this._chart?.destroy();
    this._chart = null;
  }

  private _render(): void {
    const colors = themeColors();
    const points = this._points;
    const data = points.map((p, i) => ({ x: i, y: Math.round(p.rating) }));
    const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
      type: 'line',
      data: {
        datasets: [
          {
            label: 'Rating',
            data,
            borderColor: colors.line,
            backgroundColor: colors.line,
            pointBackgroundColor: colors.line,
            pointBorderColor: colors.background,
            pointRadius: 4,
            pointHoverRadius: 6,
            borderWidth: 2,
            tension: 0.25
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        parsing: false,
        normalized: true,
        scales: {
          x: {
            type: 'linear',
            min: 0,
            max: Math.max(1, data.length - 1),
            ticks: {
              color: colors.text,
              stepSize: 1,
              precision: 0,
              callback: value => (Number(value) === 0 ? 'start' : `#${value}`)
            },
            grid: { color: colors.grid },
            border: { color: colors.grid }
          },
          y: {
            type: 'linear',
            grace: '10%',
            ticks: { color: colors.text, precision: 0 },
            grid: { color: colors.grid },
            border: { color: colors.grid }
          }
        },
        plugins: {
          tooltip: {
            backgroundColor: colors.tooltipBackground,
            titleColor: colors.tooltipText,
            bodyColor: colors.tooltipText,
            borderColor: colors.grid,
            borderWidth: 1,
            displayColors: false,
            callbacks: {
              title: (items: TooltipItem<'line'>[]) => {
                const p = points[items[0]?.dataIndex ?? 0];
                return p ? new Date(p.time * 1000).toLocaleString() : '';
              },
              label: (item: TooltipItem<'line'>) => {
                const p = points[item.dataIndex];
                return p ? `${Math.round(p.rating)} · ${p.label}` : '';
              }
            }
          }
        }
      }
    };
    if (this._chart) {
      this._chart.destroy();
    }
    this._chart = new Chart(this._canvas, config);
  }

  private readonly _canvas: HTMLCanvasElement;
  private readonly _empty: HTMLDivElement;
  private _chart: Chart<'line', { x: number; y: number }[]> | null = null;
  private _points: IRatingPoint[] = [];
}

/** The current theme's colours (JupyterLab CSS variables, with fallbacks). */
function themeColors() {
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    line: v('--jp-brand-color1', '#1976d2'),
    text: v('--jp-ui-font-color2', '#616161'),
    grid: v('--jp-border-color2', '#e0e0e0'),
    background: v('--jp-layout-color1', '#ffffff'),
    tooltipBackground: v('--jp-layout-color2', '#eeeeee'),
    tooltipText: v('--jp-ui-font-color1', '#212121')
  };
}
