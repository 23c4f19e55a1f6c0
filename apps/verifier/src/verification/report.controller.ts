import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { AuditReport, VerificationReport } from '@weblog/kafka-common';
import { AuditService } from '../audit/audit.service';
import { VerifierService } from './verifier.service';

@Controller()
export class ReportController {
  constructor(
    private readonly verifier: VerifierService,
    private readonly auditor: AuditService,
  ) {}

  /** What the verifier has seen so far, per run. */
  @Get('report')
  report(): VerificationReport {
    return this.verifier.report();
  }

  /** Compares the S3 archive with the output topic; run it once the archiver has caught up. */
  @Post('audit')
  @HttpCode(200)
  audit(): Promise<AuditReport> {
    return this.auditor.audit();
  }
}
