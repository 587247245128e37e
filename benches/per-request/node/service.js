// The order service of the per-request benchmark, as a Node.js team writes it: one request through the
// pino request logger, prom-client's RED middleware and the OpenTelemetry SDK (loaded beforehand by
// `instrumentation.js`), a `process-order` span over three step spans, one line per step, one line inside
// the operation, and one access line. `BARE=1`: the same handler with none of it.
const express = require('express');
const crypto = require('crypto');

const bare = process.env.BARE === '1';
const port = Number(process.env.PORT || 3000);
const app = express();

// The same arithmetic as the Rust service's steps.
const work = (id, salt) => (id * 2654435761 + salt) % 1000003;

if (bare) {
  app.get('/orders/:id', (req, res) => {
    const id = Number(req.params.id);
    const total = work(id, 1) + work(id, 2) + work(id, 3);
    res.json({ id, total, status: 'processed' });
  });
} else {
  const pino = require('pino');
  const promClient = require('prom-client');
  const { trace, SpanStatusCode } = require('@opentelemetry/api');

  const logger = pino({
    level: process.env.LOG_LEVEL || 'info',
    formatters: {
      level: (label) => ({ level: label }),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'body.password', 'body.credit_card'],
  });

  const requestLogger = () => (req, res, next) => {
    const requestId = req.headers['x-request-id'] || crypto.randomUUID();
    req.requestId = requestId;
    req.log = logger.child({ request_id: requestId });
    const start = Date.now();
    res.on('finish', () => {
      req.log.info({
        method: req.method,
        path: req.path,
        status_code: res.statusCode,
        duration_ms: Date.now() - start,
      });
    });
    next();
  };

  const httpRequestDuration = new promClient.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests in seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const httpRequestsTotal = new promClient.Counter({
    name: 'http_requests_total',
    help: 'Total number of HTTP requests',
    labelNames: ['method', 'route', 'status_code'],
  });
  const activeConnections = new promClient.Gauge({
    name: 'active_connections',
    help: 'Number of active connections',
  });
  const metricsMiddleware = () => (req, res, next) => {
    const end = httpRequestDuration.startTimer();
    activeConnections.inc();
    res.on('finish', () => {
      const labels = {
        method: req.method,
        route: req.route?.path || 'unknown',
        status_code: res.statusCode,
      };
      end(labels);
      httpRequestsTotal.inc(labels);
      activeConnections.dec();
    });
    next();
  };

  const tracer = trace.getTracer('order-service');

  // A step: its own span and its completion line.
  const step = (name, log, run) =>
    tracer.startActiveSpan(name, (span) => {
      const start = process.hrtime.bigint();
      try {
        const value = run();
        span.setStatus({ code: SpanStatusCode.OK });
        return value;
      } finally {
        span.end();
        log.info({
          function: name,
          result: 'ok',
          duration_ms: Number(process.hrtime.bigint() - start) / 1e6,
        });
      }
    });

  const processOrder = (id, log) =>
    tracer.startActiveSpan('process-order', (span) => {
      const start = process.hrtime.bigint();
      span.setAttribute('order.id', id);
      try {
        log.info({ order_id: id }, 'order received');
        const total =
          step('validate_order', log, () => work(id, 1)) +
          step('charge_payment', log, () => work(id, 2)) +
          step('confirm_order', log, () => work(id, 3));
        span.setStatus({ code: SpanStatusCode.OK });
        return total;
      } finally {
        span.end();
        log.info({
          operation: 'process-order',
          outcome: 'ok',
          duration_ms: Number(process.hrtime.bigint() - start) / 1e6,
        });
      }
    });

  app.use(requestLogger());
  app.use(metricsMiddleware());
  app.get('/orders/:id', (req, res) => {
    const id = Number(req.params.id);
    const total = processOrder(id, req.log);
    res.json({ id, total, status: 'processed' });
  });
  app.get('/metrics', async (req, res) => {
    res.set('Content-Type', promClient.register.contentType);
    res.end(await promClient.register.metrics());
  });
}

app.listen(port, '127.0.0.1', () => {
  process.stderr.write(`listening on 127.0.0.1:${port}\n`);
});
