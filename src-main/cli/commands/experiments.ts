/** The experiment manager's CLI commands, registered in cli/index.ts with one import. */
export { exportCommand, EXPORT_USAGE } from './export';
export { sweep, SWEEP_USAGE } from './sweep';
