import { App } from 'aws-cdk-lib';
import { loadConfig } from '../shared/config/load.ts';
import { PgotelStack } from './pgotel-stack.ts';

// The CDK app reads the same config file as the collector, so a bad field fails `cdk synth` with its name.
const app = new App();
const path = String(app.node.tryGetContext('pgotel:config') ?? 'pgotel.config.yaml');
const config = await loadConfig(path);
new PgotelStack(app, 'Pgotel', { config });
app.synth();
