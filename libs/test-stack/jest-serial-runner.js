// Jest's default runner with isSerial set: Jest then runs this runner's tests one at a time, in
// band, and apart from other projects' tests (used by the restart tier, jest.config.js).
const TestRunner = require('jest-runner').default;

class SerialTestRunner extends TestRunner {
  constructor(...args) {
    super(...args);
    this.isSerial = true;
  }
}

module.exports = SerialTestRunner;
