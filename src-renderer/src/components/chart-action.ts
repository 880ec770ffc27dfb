import { Chart, type ChartConfiguration } from 'chart.js';

/**
 * Svelte action that owns one chart.js chart on a canvas: created on mount, updated in place
 * (no animation) whenever the configuration changes, destroyed with the canvas. Pass plain
 * objects: chart.js cannot work on Svelte's reactive proxies.
 */
export function chartjs(canvas: HTMLCanvasElement, config: ChartConfiguration) {
  const chart = new Chart(canvas, config);
  // The points chart.js laid out (not what was passed in), for tests and screen readers.
  const count = () => {
    let n = 0;
    for (let i = 0; i < chart.data.datasets.length; i++) n += chart.getDatasetMeta(i).data.length;
    canvas.dataset.drawn = String(n);
  };
  count();
  return {
    update(next: ChartConfiguration) {
      chart.data = next.data;
      chart.options = next.options ?? {};
      chart.update('none');
      count();
    },
    destroy() {
      chart.destroy();
    },
  };
}
