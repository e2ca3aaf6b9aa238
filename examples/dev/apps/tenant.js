// A tenant app of `ricochet dev`: it says who it is and how the request reached it.
import { createServer } from 'node:http';

createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(
    [
      `Hello from ${process.env.TENANT} (app ${process.env.FLY_APP_NAME})`,
      `machine ${process.env.FLY_MACHINE_ID} in region ${process.env.FLY_REGION}`,
      `path ${req.url}`,
      `fly-replay-src: ${req.headers['fly-replay-src'] ?? '(not replayed)'}`,
      `fly-request-id: ${req.headers['fly-request-id']}`,
      '',
    ].join('\n'),
  );
}).listen(Number(process.env.PORT), '127.0.0.1');
