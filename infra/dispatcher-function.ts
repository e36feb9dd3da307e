import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { PgotelConfig } from '../shared/config/schema.ts';
import { PgotelFunction } from './pgotel-function.ts';

/** The dispatcher only plans and sends messages or invocations; it holds no query results. */
export const DISPATCHER_MEMORY_MB = 256;
/** Fanning out one slot for a large fleet takes seconds; a minute leaves room without overlapping the next. */
export const DISPATCHER_TIMEOUT = Duration.seconds(60);

/** Props of {@link DispatcherFunction}. */
export interface DispatcherFunctionProps {
  /** The validated config; bundled as `pgotel.config.json` (targets, tiers, schedule). */
  readonly config: PgotelConfig;
}

/**
 * The dispatcher Lambda: every minute (and for each later 15-second slot) it decides which tiers are due for
 * each target and starts one collector invocation per target. Runs outside any VPC: it talks to AWS APIs
 * only, never to a database.
 */
export class DispatcherFunction extends PgotelFunction {
  constructor(scope: Construct, id: string, props: DispatcherFunctionProps) {
    super(scope, id, {
      config: props.config,
      handlerDir: 'dispatcher',
      roleDescription: 'pgotel dispatcher: sends slot messages and invokes the collector',
      memorySize: DISPATCHER_MEMORY_MB,
      timeout: DISPATCHER_TIMEOUT,
    });
  }

  /** Lets the dispatcher send (delayed) slot messages to `queue` and names it in `PGOTEL_SLOT_QUEUE_URL`. */
  bindSlotQueue(queue: IQueue): void {
    queue.grantSendMessages(this);
    this.addEnvironment('PGOTEL_SLOT_QUEUE_URL', queue.queueUrl);
  }

  /**
   * Lets the dispatcher invoke the collector and names it in `PGOTEL_COLLECTOR_FUNCTION`. Only the
   * unqualified function ARN: `grantInvoke` would add `:*` (every version and alias), which the dispatcher
   * never calls.
   */
  bindCollector(collector: IFunction): void {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [collector.functionArn] }),
    );
    this.addEnvironment('PGOTEL_COLLECTOR_FUNCTION', collector.functionName);
  }
}
