import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

const PERIOD = Duration.minutes(5);

/** Props of {@link CollectorAlarms}. */
export interface CollectorAlarmsProps {
  readonly collector: IFunction;
  /** The dispatcher; any error of it means a slot of the whole fleet may not have started. */
  readonly dispatcher?: IFunction;
  /** Queues where failed work ends up; any message in one is an alarm. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
}

/**
 * Alarms that need no tuning: the collector reports an unreachable database as `up = 0`, so a Lambda error
 * (collector or dispatcher) is a defect, a throttle means the account's concurrency is exhausted, and a dead letter is lost work.
 * Each fires on the first occurrence within five minutes; no data (an idle stack) is not an alarm. Actions
 * (SNS, chat) are the operator's to attach.
 */
export class CollectorAlarms extends Construct {
  /** Every alarm, for attaching actions. */
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: CollectorAlarmsProps) {
    super(scope, id);
    this.add(
      'Errors',
      'The pgotel collector failed an invocation',
      props.collector.metricErrors({ period: PERIOD }),
    );
    this.add(
      'Throttles',
      'The pgotel collector was throttled',
      props.collector.metricThrottles({ period: PERIOD }),
    );
    if (props.dispatcher !== undefined) {
      this.add(
        'DispatcherErrors',
        'The pgotel dispatcher failed an invocation',
        props.dispatcher.metricErrors({ period: PERIOD }),
      );
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(
        `${name}NotEmpty`,
        `pgotel work is waiting in ${name}`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      );
    }
  }

  private add(id: string, description: string, metric: IMetric): void {
    this.alarms.push(
      new Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
