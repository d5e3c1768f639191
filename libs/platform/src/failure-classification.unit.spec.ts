import { classifyFailure } from './failure-classification';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  it.each([
    ['PostgreSQL refusing a connection (ECONNREFUSED)', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['PostgreSQL shutting down (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['PostgreSQL starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a connection exception (08006)', pgError('08006')],
    ['a serialization failure (40001)', pgError('40001')],
    ['a deadlock (40P01)', pgError('40P01')],
    ['too many connections (53300)', pgError('53300')],
    ['a dropped connection, said in words', new Error('Connection terminated unexpectedly')],
    ['a retriable kafkajs error', Object.assign(new Error('leader not available'), { retriable: true })],
    ['a kafkajs connection error', Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' })],
    ['a TypeORM QueryFailedError wrapping a shutdown', Object.assign(new Error('query failed'), { driverError: pgError('57P01') })],
    ['a cause chain ending in ECONNRESET', new Error('send failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) })],
  ])('%s is transient', (_what, err) => {
    expect(classifyFailure(err).kind).toBe('transient');
  });

  it.each([
    ['invalid UTF-8 (22021)', pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a number out of range (22003)', pgError('22003', 'value "99999999999" is out of range for type integer')],
    ['a unique violation (23505)', pgError('23505')],
    ['an undefined column (42703): a bug', pgError('42703')],
    ['a TypeError in a handler', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a thrown string', 'boom'],
    ['a non-retriable kafkajs error', Object.assign(new Error('The request included a message larger than the max message size the server will accept'), { retriable: false, name: 'KafkaJSProtocolError' })],
  ])('%s is unprocessable', (_what, err) => {
    expect(classifyFailure(err).kind).toBe('unprocessable');
  });

  it("keeps the database's reason with its SQLSTATE", () => {
    expect(classifyFailure(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')).reason).toBe('22021: invalid byte sequence for encoding "UTF8": 0x00');
  });
});
