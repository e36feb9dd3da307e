import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../shared/config/load.ts';
import { PgotelStack } from './pgotel-stack.ts';

// The CDK app reads the same config file as the collector, so a bad field fails `cdk synth` with its name.
const app = new App();
const path = String(app.node.tryGetContext('pgotel:config') ?? 'pgotel.config.yaml');
// Tests deploy several stacks into one emulator; everyone else keeps the default name.
const stackName = String(app.node.tryGetContext('pgotel:stackName') ?? 'Pgotel');
const config = await loadConfig(path);
new PgotelStack(app, stackName, { config });
// cdk-nag runs as a policy-validation plugin: an unacknowledged finding fails synth and deploy.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
