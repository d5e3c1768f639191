import { describeScannerAgreement } from '../testing';

describeScannerAgreement('scanTelemetryMessage (byte-level fast path)');
