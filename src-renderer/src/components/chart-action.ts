import { Chart, type ChartConfiguration } from 'chart.js';

/**
 * Svelte action that owns one chart.js chart on a canvas: created on mount, updated in place
 * (no animation) whenever the configuration changes, destroyed with the canvas. Pass plain
 * objects: chart.js cannot work on Svelte's reactive proxies.
 */
export function chartjs(canvas: HTMLCanvasElement, config: ChartConfiguration) {
  const chart = new Chart(canvas, config);
  return {
    update(next: ChartConfiguration) {
      chart.data = next.data;
      chart.options = next.options ?? {};
      chart.update('none');
    },
    destroy() {
      chart.destroy();
    },
  };
}
