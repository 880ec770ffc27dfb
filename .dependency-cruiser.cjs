/**
 * The layers of PUMA Lab (docs/ARCHITECTURE.md), checked on every `npm test`.
 * Type-only imports are left out (tsPreCompilationDeps: false): the rules are about what runs.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycles',
      severity: 'error',
      comment: 'A module must not import itself back through others at run time.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-is-pure',
      severity: 'error',
      comment: 'src-shared runs in the renderer and in every process: no Node, no Electron, nothing from main or renderer.',
      from: { path: '^src-shared/' },
      to: { pathNot: '^src-shared/|^node_modules/(zod|seedrandom)/' },
    },
    {
      name: 'renderer-through-the-contract',
      severity: 'error',
      comment: 'The renderer reaches main only through the API client (src-shared/api/contract).',
      from: { path: '^src-renderer/' },
      to: { path: '^src-main/|^electron$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'renderer-no-node',
      severity: 'error',
      from: { path: '^src-renderer/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'engine-is-a-library',
      severity: 'error',
      comment: 'The compute engine knows nothing of services, the log or jobs.',
      from: { path: '^src-main/engine/' },
      to: { path: '^src-main/(services|store|jobs|transport|cli|app)/' },
    },
    {
      name: 'transports-are-thin',
      severity: 'error',
      comment: 'Transports import only services and src-shared (plus Node and npm packages).',
      from: { path: '^src-main/transport/' },
      to: { path: '^src-main/', pathNot: '^src-main/(services|transport)/' },
    },
    {
      name: 'store-below-services',
      severity: 'error',
      comment: 'The log layer does not call up into services, jobs or transports.',
      from: { path: '^src-main/store/' },
      to: { path: '^src-main/(services|jobs|transport|cli|app|engine)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(out|native|types|node_modules)/' },
  },
};
