/**
 * One source of words for every parameter a form shows: a label with the paper's symbol, a
 * one-line help that ties it to the paper (Maroto & Frossard, "PUMA"), and the unit. The Train
 * form, the Perceptron and Margins forms, field errors (./field-errors) and the CLI's messages all
 * read these records; the allowed values of a fixed-choice field come from the zod schema, never
 * from here. Radii and margins are always in pixel scale [0, 1] (8/255 ≈ 0.031).
 *
 * Types only are imported from the schemas, so the schemas can import this file without a cycle.
 */
import type { TrainConfig } from './training';
import type { PerceptronConfig } from './perceptron';

export interface FieldDoc {
  /** What it is, in words. */
  label: string;
  /** The paper's symbol, when it has one (ε, r, β, τ …). */
  symbol?: string;
  /** One line: what it does and where the paper says so. */
  help: string;
  /** Unit or scale of the value. */
  unit?: string;
  /** Words for the allowed values of a fixed-choice field (the values themselves come from the schema). */
  choices?: Record<string, string>;
}

/** The unit of every radius and margin. */
export const PIXEL_SCALE = 'pixel scale [0, 1], e.g. 8/255 ≈ 0.031';

/** "Pruning ratio r" — the label with its symbol, as shown above a field and in messages. */
export function fieldTitle(doc: FieldDoc): string {
  return doc.symbol ? `${doc.label} ${doc.symbol}` : doc.label;
}

/** Words for every key of a training config (`puma train --set`, the Train page). */
export const TRAIN_DOCS: Record<keyof TrainConfig, FieldDoc> = {
  dataset: { label: 'Dataset', help: 'Name or id of an imported dataset; fashion-mnist is imported from the system copy when missing (§3.1 uses CIFAR-10).' },
  generated: {
    label: 'Generated set',
    help: 'Generated images attached to the dataset, mixed into every batch (the paper adds 1M EDM images, §3.1); empty = originals only.',
  },
  generated_share: {
    label: 'Generated share',
    help: 'Share of each epoch drawn from the generated set (0.7 in §3.1, after Wang et al. 2023).',
    unit: 'fraction [0, 1]',
  },
  train_subset: {
    label: 'Training subset',
    symbol: 'N',
    help: 'Use only the first N training originals (quick runs); empty = the whole training set.',
    unit: 'images',
  },
  augment: {
    label: 'Augmentation',
    help: 'Random crop and flip; auto = on for colour images, off for 1-channel ones.',
    choices: { null: 'auto', true: 'on', false: 'off' },
  },
  arch: {
    label: 'Architecture',
    help: 'The network trained (§4.2 uses ResNet-18, PreActResNet-18, WideResNet-28); mlp and cnn-small fit a laptop CPU.',
    choices: { mlp: 'MLP', 'cnn-small': 'small CNN', resnet18: 'ResNet-18', 'preact-resnet18': 'PreActResNet-18', wrn: 'WideResNet' },
  },
  width: { label: 'Width', help: "mlp: hidden units; ResNets: base channels; wrn: widen factor. Empty = the architecture's default." },
  depth: { label: 'Depth', help: "mlp: hidden layers; wrn: depth 6n+4 (e.g. 28). Empty = the architecture's default." },
  method: {
    label: 'Training method',
    help: "Adversarial training loss: TRADES (the paper's default, §3.1), PGD-AT (Madry), or standard (no attack).",
    choices: { standard: 'standard (no attack)', pgd_at: 'PGD-AT (Madry)', trades: 'TRADES' },
  },
  beta: { label: 'TRADES weight', symbol: 'β', help: "Weight of the KL robustness term in TRADES: CE + β·KL (the paper's recipe uses 5)." },
  label_smoothing: { label: 'Label smoothing', help: "Smoothing of the one-hot targets (0.1 in the paper's recipe).", unit: 'fraction [0, 1]' },
  eps: {
    label: 'Radius',
    symbol: 'ε',
    help: 'L∞ radius the model must be robust to; the training attack and the evaluation use it (CIFAR-10: 8/255).',
    unit: PIXEL_SCALE,
  },
  attack_steps: { label: 'Attack steps', symbol: 'k', help: 'PGD / TRADES steps of the training attack (10 in the paper); 0 = no attack.', unit: 'steps' },
  attack_step_size: { label: 'Attack step size', symbol: 'a', help: 'Step of the training attack; empty = 2.5·ε/k.', unit: PIXEL_SCALE },
  strategy: {
    label: 'Pruning strategy',
    help: 'Which samples are removed before training: PE prunes easy (highest margin), PD difficult (§3); PUMA = PE on the margin plus ε_i = clip(m_i, −ε, ε) (§4, Eq. 2); online PUMA finds margins while training (§5, Eq. 4).',
    choices: { none: 'none', random: 'random', pe: 'PE (prune easy)', pd: 'PD (prune difficult)', pe_pd: 'PE + PD', puma: 'PUMA', online_puma: 'online PUMA' },
  },
  prune_ratio: {
    label: 'Pruning ratio',
    symbol: 'r',
    help: 'Share of the pool removed, highest margins first (§4; the paper uses 20–22 %). For PD: lowest margins.',
    unit: 'fraction [0, 0.99]',
  },
  pd_ratio: {
    label: 'PD ratio',
    help: 'PE + PD only: share removed from the difficult end; the pruning ratio is the easy end (§3.3, "PE 22 % + PD 12 %").',
    unit: 'fraction [0, 0.99]',
  },
  score: {
    label: 'Pruning score',
    help: 'What PE / PD rank by: the margin m_i of a robust margin model (§4.1) or classification difficulty CD_i (§3.2, Eq. 1).',
    choices: { margin: 'margin m_i', cd: 'classification difficulty CD' },
  },
  threshold: {
    label: 'Threshold',
    symbol: 't',
    help: 'Threshold form instead of a ratio: PE removes margin > t (or CD < t), PD removes margin < t (or CD ≥ t) (§3.3).',
  },
  eq2_eps: {
    label: 'Eq. 2 radius',
    symbol: 'ε',
    help: 'Clip radius in ε_i = clip(m_i, −ε, ε) (Eq. 2); empty = the training ε. Table 5 tries 6/255 and 10/255.',
    unit: PIXEL_SCALE,
  },
  gap: {
    label: 'Margin gap',
    symbol: 'g',
    help: 'Subtracted from every margin before clipping: ε_i = clip(m_i − g, −ε, ε) (Eq. 3, Table 4: 1/255); 0 = Eq. 2.',
    unit: PIXEL_SCALE,
  },
  margin_model: {
    label: 'Margin model run',
    help: 'A finished train run whose EMA model gives the margins; it must be adversarially robust (§4.1, App. B). Empty = train one first.',
    unit: 'run id',
  },
  margin_set: { label: 'Margin set file', help: 'A stored .npy of margins, one per pool sample (overrides the margin model).' },
  margin_method: {
    label: 'Margin estimator',
    help: 'DeepFool (§4.1) or the faster BIM + binary search (App. C, Algorithm 1).',
    choices: { deepfool: 'DeepFool', fast: 'fast (App. C)' },
  },
  margin_model_epochs: {
    label: 'Margin model epochs',
    help: 'Epochs of the margin model when the run trains it itself (same architecture and data, as §3.1 advises).',
    unit: 'epochs',
  },
  cd_run: { label: 'CD run', help: 'A train run that recorded per-sample correctness, for score = CD (§3.2); empty = record it first.', unit: 'run id' },
  online_warmup_epochs: { label: 'Online warm-up epochs', help: 'Online PUMA: epochs trained without pruning first, as §5 suggests.', unit: 'epochs' },
  online_prune_margin: {
    label: 'Online pruning margin',
    symbol: 'm_P',
    help: 'Online PUMA (Eq. 4): a sample still classified correctly at this margin is pruned; empty = no pruning.',
    unit: PIXEL_SCALE,
  },
  online_search_steps: { label: 'Online search steps', help: 'Binary-search steps for the online margin m_i in [−ε, ε] (Eq. 4).', unit: 'steps' },
  record_correctness: {
    label: 'Record correctness',
    help: 'Store per-sample correctness every epoch, which CD needs (Eq. 1).',
    choices: { true: 'yes', false: 'no' },
  },
  lr: { label: 'Learning rate', symbol: 'η', help: "Peak SGD learning rate (0.2 in the paper's recipe), updated every batch by the schedule." },
  momentum: { label: 'Momentum', help: 'SGD momentum (0.9).' },
  nesterov: { label: 'Nesterov momentum', help: 'Nesterov SGD, as in Wang et al. 2023.', choices: { true: 'on', false: 'off' } },
  weight_decay: { label: 'Weight decay', help: 'L2 penalty on weights (not on batch-norm parameters); 5e-4.' },
  schedule: {
    label: 'Learning-rate schedule',
    help: 'Per-batch schedule: one-cycle (the recipe), step decay, or constant.',
    choices: { onecycle: 'one-cycle', step: 'step decay', constant: 'constant' },
  },
  warmup_share: { label: 'Warm-up share', help: 'Share of training spent raising the learning rate (one-cycle).', unit: 'fraction [0, 1]' },
  step_milestones: {
    label: 'Step milestones',
    help: 'Step schedule: points of training (fractions) where the rate is multiplied by the step factor, e.g. [0.5, 0.75].',
  },
  step_gamma: { label: 'Step factor', symbol: 'γ', help: 'Step schedule: the rate is multiplied by γ at each milestone.' },
  ema_tau: {
    label: 'EMA decay',
    symbol: 'τ',
    help: 'Weight averaging (Wang et al. 2023): the evaluated model is an EMA of the weights with decay τ (0.995); 0 = the live model.',
  },
  batch_size: { label: 'Batch size', help: "Samples per SGD step (512 in the paper's recipe).", unit: 'images' },
  epoch_size: { label: 'Epoch size', help: 'Samples per "epoch" (50k in §3.1); empty = every kept sample once.', unit: 'images' },
  epochs: { label: 'Epochs', symbol: 'E', help: 'Number of epochs (400 in §3.1).', unit: 'epochs' },
  eval_every: { label: 'Evaluate every', help: 'Evaluate the EMA model every this many epochs (and after the last); 0 = only at the end.', unit: 'epochs' },
  eval_subset: { label: 'Evaluation subset', help: 'Evaluate on the first N test images; empty = the whole test set.', unit: 'images' },
  eval_attack_steps: {
    label: 'Evaluation attack steps',
    help: 'Steps of the PGD-CE and PGD-C&W attacks that measure robust accuracy (§3.1 reports C&W).',
    unit: 'steps',
  },
  eval_step_size: { label: 'Evaluation step size', help: 'Step of the evaluation attacks; empty = ε/4.', unit: PIXEL_SCALE },
  eval_batch_size: { label: 'Evaluation batch size', help: 'Test images per evaluation batch.', unit: 'images' },
  seed: { label: 'Seed', help: 'Seeds initial weights, sampling, pruning and attacks; tables report mean ± std over seeds.' },
  backend: {
    label: 'Compute backend',
    help: 'TensorFlow.js backend; auto = the first that loads (GPU, native, wasm, plain JS).',
    choices: { auto: 'auto', 'node-gpu': 'CUDA GPU', node: 'native CPU', wasm: 'wasm', cpu: 'plain JS' },
  },
  workers: { label: 'Worker processes', help: 'Processes that share each batch on wasm / plain JS (0 = one per CPU core).', unit: 'processes' },
  log_every: { label: 'Log every', help: 'Record a batch-loss point every this many batches (live curves).', unit: 'batches' },
};

/** The training keys by topic, in the order forms show them (every key in exactly one section). */
export const TRAIN_SECTIONS: Array<{ title: string; keys: Array<keyof TrainConfig> }> = [
  { title: 'Data', keys: ['dataset', 'generated', 'generated_share', 'train_subset', 'augment'] },
  { title: 'Model', keys: ['arch', 'width', 'depth'] },
  { title: 'Margins', keys: ['margin_model', 'margin_set', 'margin_method', 'margin_model_epochs', 'score', 'cd_run', 'record_correctness'] },
  {
    title: 'Pruning',
    keys: ['strategy', 'prune_ratio', 'pd_ratio', 'threshold', 'eq2_eps', 'gap', 'online_warmup_epochs', 'online_prune_margin', 'online_search_steps'],
  },
  { title: 'Adversarial training', keys: ['method', 'beta', 'eps', 'attack_steps', 'attack_step_size', 'label_smoothing'] },
  {
    title: 'Optimiser and schedule',
    keys: ['lr', 'momentum', 'nesterov', 'weight_decay', 'schedule', 'warmup_share', 'step_milestones', 'step_gamma', 'ema_tau'],
  },
  {
    title: 'Run',
    keys: [
      'epochs',
      'batch_size',
      'epoch_size',
      'eval_every',
      'eval_subset',
      'eval_attack_steps',
      'eval_step_size',
      'eval_batch_size',
      'seed',
      'backend',
      'workers',
      'log_every',
    ],
  },
];

/** Words for the perceptron study (§2). */
export const PERCEPTRON_DOCS: Record<keyof PerceptronConfig, FieldDoc> = {
  k: { label: 'Dimensions', symbol: 'K', help: 'Input dimension; the teacher is θ_t = e₁ (§2, K = 200).' },
  eps: {
    label: 'FGSM radius',
    symbol: 'ε',
    help: 'L∞ radius of the FGSM examples the student trains on (§2: 0, 0.001, 0.01).',
    unit: 'input scale (x ~ N(0, I))',
  },
  alphas: { label: 'Data ratios', symbol: 'α', help: 'α = n_kept / K, the kept samples per dimension; several, separated by commas.' },
  ratios: { label: 'Pruning ratios', symbol: 'r', help: 'Share of the generated samples removed, each in [0, 1); several, separated by commas.' },
  strategies: {
    label: 'Strategies',
    help: 'PE removes the highest true margins |x₁|, PD the lowest (§2).',
    choices: { none: 'none', pe: 'PE (prune easy)', pd: 'PD (prune difficult)' },
  },
  seeds: { label: 'Seeds', help: 'Repetitions (seeds 0…n−1); points show mean ± std over them.' },
  filterBelowEps: { label: 'Drop margin < ε', help: "Also remove every kept sample whose margin is below ε — the paper's fix for PE at ε > 0 (§2, Fig. 4)." },
  maxSteps: { label: 'Max optimiser steps', help: 'Budget of full-batch gradient steps per student.', unit: 'steps' },
  tol: { label: 'Convergence tolerance', help: 'A student has converged when its direction θ/‖θ‖ moves less than this per step (mean over 20 steps).' },
};

/** Words for the margin computation (Margins page, `puma margins`). */
export const MARGIN_DOCS: Record<'method' | 'norm' | 'eps' | 'split' | 'workers', FieldDoc> = {
  method: {
    label: 'Margin estimator',
    help: 'DeepFool (§4.1) or the faster BIM + binary search (App. C, Algorithm 1).',
    choices: { deepfool: 'DeepFool', fast: 'fast (App. C)' },
  },
  norm: { label: 'Norm', help: 'Distance to the decision boundary in L∞ (the paper) or L2.', choices: { linf: 'L∞', l2: 'L2' } },
  eps: {
    label: 'Radius',
    symbol: 'ε',
    help: 'Reference radius for "fraction below ε" and the fast method\'s step (margins themselves are not clipped).',
    unit: PIXEL_SCALE,
  },
  split: { label: 'Split', help: 'Which images get margins: the training pool (what pruning uses) or the test set.' },
  workers: { label: 'Worker processes', help: 'Processes that compute margins in parallel.', unit: 'processes' },
};

/** One line on the Models page: why a margin model must be robust. */
export const MARGIN_MODEL_HELP =
  'A margin model must be adversarially robust (train it with PGD-AT or TRADES at the ε you will prune for): PUMA always uses robust models, whose margins are larger and track difficulty (§4.1); the margins of a non-robust (standard) model are tiny and meaningless for pruning.';
