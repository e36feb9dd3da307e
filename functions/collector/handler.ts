/**
 * Placeholder of the collector Lambda while the serverless work lands: it echoes the request, so the stack can
 * be deployed and invoked. Replaced by the real handler (runCollection) in the same issue.
 */
export const handler = async (event: unknown): Promise<{ placeholder: true; event: unknown }> => ({
  placeholder: true,
  event,
});
