export const handler = async (event, context) => {
  console.log('node-hello invoked', JSON.stringify(event));
  return { hello: event.name ?? 'world', requestId: context.awsRequestId };
};
