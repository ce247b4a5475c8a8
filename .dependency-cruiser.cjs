/**
 * Structure rules, checked in `npm test` (scripts/typecheck.sh):
 *  - each workspace package owns its code: nothing reaches into another package by a
 *    relative path (use the package name and its `exports`);
 *  - no runtime import circles (type-only imports are erased and do not count): in a
 *    Worker a circle makes module load order matter, and a constant used across it can
 *    throw at load.
 */
const PACKAGES = "protocol|node-agent|edge|sfu-nodes|turn|web";

module.exports = {
  forbidden: [
    {
      name: "no-relative-import-across-packages",
      severity: "error",
      comment: "Import another package by its name (@meridian/...) and what its package.json exports.",
      from: { path: "^([^/]+)/" },
      to: { dependencyTypes: ["local"], path: `^(${PACKAGES})/`, pathNot: "^$1/" },
    },
    {
      name: "no-runtime-circular",
      severity: "error",
      comment: "A circle of runtime imports; break it with an interface, a type-only import, or a small shared module.",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser; swc parses the sources.
    parser: "swc",
    tsPreCompilationDeps: false,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|\\.wrangler|\\.tools)/" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js"], conditionNames: ["import", "default"] },
  },
};
