import { Chart } from 'chart.js';

/**
 * chart.js draws on a canvas, which CSS cannot reach: its text and grid colours come from the
 * page's CSS variables (app.css), re-read and redrawn when the system switches light / dark.
 */
function applyChartTheme(): void {
  const css = getComputedStyle(document.documentElement);
  Chart.defaults.color = css.getPropertyValue('--chart-text').trim() || '#4a5564';
  Chart.defaults.borderColor = css.getPropertyValue('--chart-grid').trim() || 'rgba(0,0,0,0.1)';
  // Charts resolve unset colours from the defaults on every update.
  for (const chart of Object.values(Chart.instances)) chart.update('none');
}

export function followSystemTheme(): void {
  applyChartTheme();
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', applyChartTheme);
}
