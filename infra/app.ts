// The CDK app: one satfactory stack per stage, configured by the "satfactory" context key (cdk.json
// or -c). Importable without side effects so scripts and tests synthesize the very same stack.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { SatfactoryStack } from './satfactory-stack.ts';
import { parseStageConfig } from './stage-config.ts';

export const CONFIG_CONTEXT_KEY = 'satfactory';

/**
 * The cdk-nag packs the app must pass: any finding not acknowledged in nag-acknowledgements.ts stops
 * the synth (CDK policy validation). Tests run the same packs through validateScope.
 */
export function nagPacks(): Array<AwsSolutionsChecks | ServerlessChecks> {
  return [new AwsSolutionsChecks(), new ServerlessChecks()];
}

/** Adds the stack of the stage named in the app's context to `app`. */
export function defineApp(app: App): SatfactoryStack {
  const config = parseStageConfig(
    app.node.tryGetContext(CONFIG_CONTEXT_KEY),
    `context "${CONFIG_CONTEXT_KEY}"`,
  );
  return new SatfactoryStack(app, `Satfactory-${config.stage}`, {
    config,
    description: `satfactory (${config.stage}): Sentinel-2 imagery + labels into ML datasets`,
  });
}

function isMain(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isMain()) {
  const app = new App();
  defineApp(app);
  Validations.of(app).addPlugins(...nagPacks());
  app.synth();
}
