/** `puma models import|list`: margin models in the log. */
import { parseArgs } from 'node:util';
import { openCliApp } from '../app';
import { initEngine } from '../../engine';
import { CliError, parseNumber } from '../args';
import { PYTORCH_ARCHS, type ImportModelRequestInput } from '../../../src-shared/domain/models';
import { parseNormalize } from '../../services/models/pytorch/import';
import { EXPORT_FORMATS, type ExportFormat } from '../../services/models/pytorch/export';

export const MODELS_USAGE = `  puma models import PATH --name NAME [--arch auto|${PYTORCH_ARCHS.join('|')}] [--normalize none|cifar10|cifar100|M1,M2,M3/S1,S2,S3]
                     [--evaluate-on DATASET] [--robust-eps E] [--evaluate-count N] [--json] [--db PATH]
                                              import a TF.js Layers model (model.json + weight files) or a PyTorch
                                              checkpoint (.pt/.pth of torch >= 1.6, .safetensors; --robust-eps 0: no robust accuracy)
  puma models export MODEL --format pt|safetensors --out FILE [--json] [--db PATH]
                                              write a PyTorch-imported model as a state_dict of its family
                                              (load_state_dict(torch.load(FILE))) plus FILE.json
  puma models add-run RUN_ID [--name NAME] [--json] [--db PATH]
                                              register a finished train run's final EMA model
  puma models list [--json] [--db PATH]`;

const print = (obj: unknown): void => void process.stdout.write(JSON.stringify(obj) + '\n');

export async function modelsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      arch: { type: 'string' },
      normalize: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'evaluate-on': { type: 'string' },
      'robust-eps': { type: 'string' },
      'evaluate-count': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      db: { type: 'string' },
    },
  });
  const app = openCliApp(values.db);
  try {
    const models = app.models;
    if (sub === 'list') {
      const list = models.list();
      const datasets = new Map(app.datasets.list().map((d) => [d.id, d.name]));
      // Flat fields for scripts: the run that trained it (its final model, or the margin model it trained for PUMA/PE/PD).
      const rows = list.map((m) => {
        const datasetId = m.provenance.datasetId ?? m.accuracy?.datasetId ?? null;
        return {
          ...m,
          run_id: m.provenance.runId ?? null,
          role: m.source === 'imported' ? null : (m.provenance.role ?? 'final'),
          arch: m.provenance.architecture ?? null,
          dataset: datasetId === null ? null : (datasets.get(datasetId) ?? null),
          accuracies: m.accuracy
            ? { clean: m.accuracy.clean, robust: m.accuracy.robust, robust_eps: m.accuracy.robustEps, count: m.accuracy.count, split: m.accuracy.split }
            : null,
        };
      });
      if (values.json) print({ models: rows });
      else
        console.table(
          rows.map((m) => ({
            id: m.id,
            name: m.name,
            source: m.source,
            run: m.run_id,
            input: m.inputShape.join('x'),
            classes: m.numClasses,
            clean: m.accuracy?.clean ?? null,
            robust: m.accuracy?.robust ?? null,
          })),
        );
      return;
    }
    if (sub === 'add-run') {
      if (positionals.length !== 1 || !/^\d+$/.test(positionals[0]!))
        throw new CliError(`puma models add-run expects one RUN_ID (a finished train run).\n${MODELS_USAGE}`);
      const runId = Number(positionals[0]);
      if (!app.runs.exists(runId)) throw new CliError(`Run ${runId} does not exist in the experiment log.`);
      await initEngine(values.backend);
      const info = await models.addTrainRun(app.runs.get(runId), values.name);
      if (values.json) print({ model_id: info.id, ...info });
      else
        console.log(
          `margin model ${info.id} "${info.name}" from train run ${runId}: clean accuracy ${info.accuracy?.clean ?? '—'}, robust ${info.accuracy?.robust ?? '—'}`,
        );
      return;
    }
    if (sub === 'export') {
      if (positionals.length !== 1) throw new CliError(`puma models export expects one MODEL (id or name).\n${MODELS_USAGE}`);
      const format = values.format;
      if (!format || !(EXPORT_FORMATS as readonly string[]).includes(format))
        throw new CliError(`--format: '${format ?? ''}' is not one of ${EXPORT_FORMATS.join(', ')}.`);
      if (!values.out) throw new CliError('puma models export needs --out FILE.');
      await initEngine(values.backend);
      let result;
      try {
        result = await models.exportModel(positionals[0]!, format as ExportFormat, values.out);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (values.json) print({ model_id: models.get(positionals[0]!).id, ...result });
      else console.log(`wrote ${result.file} (${result.keys} tensors) and ${result.sidecar}`);
      return;
    }
    if (sub !== 'import') throw new CliError(`Unknown 'models' subcommand '${sub ?? ''}'.\n${MODELS_USAGE}`);
    if (positionals.length !== 1)
      throw new CliError(`puma models import expects one PATH (a model.json or its folder, or a .pt/.pth/.safetensors file).\n${MODELS_USAGE}`);
    if (!values.name) throw new CliError('puma models import needs --name NAME.');
    const arch = values.arch;
    if (arch !== undefined && arch !== 'auto' && !(PYTORCH_ARCHS as readonly string[]).includes(arch)) {
      throw new CliError(`--arch: '${arch}' is not auto or one of ${PYTORCH_ARCHS.join(', ')}.`);
    }
    if (values.normalize !== undefined) {
      try {
        parseNormalize(values.normalize);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    }
    // --robust-eps 0: the clean accuracy only
    const robustEps = values['robust-eps'] === undefined ? undefined : parseNumber('robust-eps', values['robust-eps'], 0);
    await initEngine(values.backend);
    const info = await models.importModel({
      path: positionals[0]!,
      name: values.name,
      arch: arch as ImportModelRequestInput['arch'],
      normalize: values.normalize,
      evaluateOn: values['evaluate-on'],
      robustEps: robustEps === 0 ? undefined : robustEps,
      evaluateCount: values['evaluate-count'] === undefined ? undefined : parseNumber('evaluate-count', values['evaluate-count'], 0),
    });
    if (values.json) print({ model_id: info.id, ...info });
    else
      console.log(
        `imported margin model ${info.id} "${info.name}": input ${info.inputShape.join('x')}, ${info.numClasses} classes, ${info.params} parameters${info.droppedSoftmax ? ', final softmax dropped' : ''}`,
      );
  } finally {
    app.close();
  }
}
