"""The AMD Secure Processor's side of SNP_GUEST_REQUEST, plus the
hypervisor's (KVM's) handling of the GHCB guest-request exits around it.

Rules followed (AMD SEV-SNP firmware ABI, SNP_GUEST_REQUEST and
MSG_REPORT_REQ; Linux arch/x86/kvm/svm/sev.c and
drivers/virt/coco/sev-guest for the hypervisor and guest sides):
- Each VMPCK has an expected request sequence number. A request must carry
  exactly that number. The response uses request + 1 and, after a
  successful exchange, the expected number advances by 2.
- The firmware rejects a request with a bad header, a wrong sequence
  number or a tag that does not verify. It then returns a firmware status
  in the lower 32 bits of SW_EXITINFO2, writes no response message and
  keeps the expected sequence number. The status is INVALID_PARAM (0x16)
  for all of these.
  NOTE: the firmware ABI text available here gives no distinct status for
  a failed tag, so 0x16 is this simulator's choice. A guest must treat any
  non-zero firmware status as fatal for the VMPCK.
- BUSY and INVALID_LEN are hypervisor responses given before the firmware
  runs, so they do not consume a sequence number either.
- The report VMPL must be at least the VMPCK index (the firmware takes the
  VMPCK as the requester's privilege level) and at most 3.
"""

import struct

import faults
import snp_certtable
import snp_msg
import snp_report

SEV_RET_SUCCESS = 0x00
SEV_RET_INVALID_PARAM = 0x16
SEV_RET_AEAD_OFLOW = 0x1D
SEV_RET_INVALID_KEY = 0x27

VMM_ERR_INVALID_LEN = 1
VMM_ERR_BUSY = 2
VMM_ERR_SHIFT = 32

REPORT_REQ_SIZE = 96
REPORT_RSP_SIZE = 0x20 + snp_report.REPORT_SIZE

KEY_SEL_DEFAULT = 0
KEY_SEL_VCEK = 1
KEY_SEL_VLEK = 2

MAX_SEQNO = (1 << 64) - 1


class GuestRequestResult:
    """What the hypervisor hands back to the guest for one guest request.

    response: response page bytes (4096 unless a fault truncated it).
    certs: certificate buffer (certs_pages * 4096 bytes) or None.
    certs_pages: page count reported in RBX (the need, for INVALID_LEN).
    truncate_to: when set, only this many bytes of the response page and
    certificate buffer together are sent (the "truncate" fault).
    """

    def __init__(self, exit_info2, response, certs=None, certs_pages=0):
        self.exit_info2 = exit_info2
        self.response = response
        self.certs = certs
        self.certs_pages = certs_pages
        self.truncate_to = None

    def payload(self):
        """Return the response page, then the certificate buffer if any."""
        body = self.response
        if self.certs is not None:
            body += self.certs
        if self.truncate_to is not None:
            body = body[:self.truncate_to]
        return body


class SnpFirmware:
    """Guest request processing with per-VMPCK sequence numbers."""

    def __init__(self, settings, pki, fault_set, log):
        self.settings = settings
        self.pki = pki
        self.faults = fault_set
        self.log = log
        self.expected_seqno = list(settings.seqno)
        self.report_count = 0

    def state_json(self):
        return {"expected_seqno": list(self.expected_seqno),
                "reports": self.report_count}

    def set_seqno(self, values):
        self.expected_seqno = list(values)

    def cert_table(self):
        return snp_certtable.build_cert_table([
            (snp_certtable.GUID_VCEK, self.pki.der("vcek")),
            (snp_certtable.GUID_ASK, self.pki.der("ask")),
            (snp_certtable.GUID_ARK, self.pki.der("ark")),
        ])

    def handle(self, request_page, extended, certs_pages):
        """Process one (extended) guest request from the 4 KiB request page."""
        zero_page = b"\x00" * snp_msg.PAGE_SIZE

        if self.faults.take("busy") is not None:
            self.log("snp_busy", decision="BUSY injected, request not run")
            return GuestRequestResult(VMM_ERR_BUSY << VMM_ERR_SHIFT,
                                      zero_page)

        table = None
        if extended:
            table = self.cert_table()
            needed = snp_certtable.pages_needed(table)
            forced = self.faults.take("invalid_len")
            if forced is not None or certs_pages < needed:
                if forced is not None and forced["pages"] is not None:
                    needed = forced["pages"]
                self.log("snp_invalid_len", certs_pages=certs_pages,
                         needed_pages=needed, injected=forced is not None,
                         decision="INVALID_LEN, request not run")
                return GuestRequestResult(
                    VMM_ERR_INVALID_LEN << VMM_ERR_SHIFT, zero_page,
                    certs_pages=needed)

        status, response = self.run_firmware(request_page)
        if status != SEV_RET_SUCCESS:
            return GuestRequestResult(status, zero_page)

        certs = None
        if extended:
            certs = table + b"\x00" * (certs_pages * snp_msg.PAGE_SIZE
                                       - len(table))
        result = GuestRequestResult(0, response, certs=certs,
                                    certs_pages=certs_pages if extended
                                    else 0)
        truncate = self.faults.take("truncate")
        if truncate is not None:
            result.truncate_to = truncate["bytes"]
            self.log("snp_fault", fault="truncate", length=truncate["bytes"])
        return result

    def run_firmware(self, request_page):
        """Run SNP_GUEST_REQUEST. Returns (firmware status, response page)."""
        injected = self.faults.take("fw_error")
        if injected is not None:
            self.log("snp_reject", reason="fw_error injected",
                     status=injected["status"])
            return injected["status"], None

        header = snp_msg.parse_header(request_page)
        problem = self.check_request_header(header)
        if problem is not None:
            self.log("snp_reject", reason=problem, header=header.to_json(),
                     status=SEV_RET_INVALID_PARAM)
            return SEV_RET_INVALID_PARAM, None

        vmpck_id = header.msg_vmpck
        if self.expected_seqno[vmpck_id] >= MAX_SEQNO:
            self.log("snp_reject", reason="sequence number space exhausted",
                     vmpck=vmpck_id, status=SEV_RET_AEAD_OFLOW)
            return SEV_RET_AEAD_OFLOW, None
        if header.msg_seqno != self.expected_seqno[vmpck_id]:
            self.log("snp_reject", reason="wrong sequence number",
                     vmpck=vmpck_id, msg_seqno=header.msg_seqno,
                     expected=self.expected_seqno[vmpck_id],
                     status=SEV_RET_INVALID_PARAM)
            return SEV_RET_INVALID_PARAM, None

        vmpck = self.settings.vmpck[vmpck_id]
        try:
            _, plaintext = snp_msg.open_message(vmpck, request_page)
        except snp_msg.MessageError as error:
            self.log("snp_reject", reason=str(error), vmpck=vmpck_id,
                     status=SEV_RET_INVALID_PARAM)
            return SEV_RET_INVALID_PARAM, None

        if header.msg_type == snp_msg.MSG_REPORT_REQ:
            payload = self.build_report_response(plaintext, vmpck_id)
        else:
            self.log("snp_reject", reason="unsupported message type",
                     msg_type=header.msg_type, status=SEV_RET_INVALID_PARAM)
            return SEV_RET_INVALID_PARAM, None

        self.expected_seqno[vmpck_id] += 2
        response = self.seal_response(vmpck, header, payload)
        self.log("snp_response", vmpck=vmpck_id, msg_seqno=header.msg_seqno,
                 next_expected=self.expected_seqno[vmpck_id])
        return SEV_RET_SUCCESS, response

    def check_request_header(self, header):
        """Return a reason string if the header is invalid, else None."""
        if header.algo != snp_msg.AEAD_AES_256_GCM:
            return "algo %d is not AES-256-GCM (1)" % header.algo
        if header.hdr_version != snp_msg.HEADER_VERSION:
            return "hdr_version %d is not 1" % header.hdr_version
        if header.hdr_sz != snp_msg.HEADER_SIZE:
            return "hdr_sz 0x%x is not 0x60" % header.hdr_sz
        if header.msg_vmpck > 3:
            return "msg_vmpck %d is not 0..3" % header.msg_vmpck
        if not any(self.settings.vmpck[header.msg_vmpck]):
            return "VMPCK%d is disabled (all zero)" % header.msg_vmpck
        if header.msg_version == 0:
            return "msg_version 0 is invalid"
        if header.msg_sz > snp_msg.MAX_PAYLOAD:
            return "msg_sz %d exceeds the page" % header.msg_sz
        if header.reserved_nonzero:
            return "reserved header bytes are not zero"
        return None

    def seal_response(self, vmpck, request_header, payload):
        """Encrypt the response and apply the response-side faults."""
        seqno = request_header.msg_seqno + 1
        msg_type = request_header.msg_type + 1
        msg_version = request_header.msg_version

        fault = self.faults.take("wrong_seqno")
        if fault is not None:
            seqno += fault["delta"]
            self.log("snp_fault", fault="wrong_seqno", msg_seqno=seqno)
        fault = self.faults.take("wrong_type")
        if fault is not None:
            msg_type = (fault["msg_type"] if fault["msg_type"] is not None
                        else request_header.msg_type + 3)
            self.log("snp_fault", fault="wrong_type", msg_type=msg_type)
        fault = self.faults.take("wrong_version")
        if fault is not None:
            msg_version = (fault["msg_version"]
                           if fault["msg_version"] is not None
                           else msg_version + 1) & 0xFF
            self.log("snp_fault", fault="wrong_version",
                     msg_version=msg_version)

        header = snp_msg.MessageHeader(seqno, msg_type, msg_version,
                                       len(payload),
                                       request_header.msg_vmpck)
        message = bytearray(snp_msg.seal(vmpck, header, payload))

        if self.faults.take("corrupt_tag") is not None:
            message[5] ^= 0x40
            self.log("snp_fault", fault="corrupt_tag")
        fault = self.faults.take("msg_sz")
        if fault is not None:
            struct.pack_into("<H", message, 0x36, fault["value"] & 0xFFFF)
            self.log("snp_fault", fault="msg_sz", value=fault["value"])
        return snp_msg.pad_page(bytes(message))

    def build_report_response(self, plaintext, vmpck_id):
        """Build the MSG_REPORT_RSP payload (status, size, report)."""
        status = self.check_report_request(plaintext, vmpck_id)
        injected = self.faults.take("refuse")
        if injected is not None:
            status = injected["status"]
            self.log("snp_fault", fault="refuse", status=status)

        report = b""
        if status == SEV_RET_SUCCESS:
            user_data = plaintext[0:64]
            (vmpl,) = struct.unpack_from("<I", plaintext, 0x40)
            report = self.make_report(user_data, vmpl)
            self.report_count += 1
            self.log("snp_report", version=self.settings.report_version,
                     vmpl=vmpl, report_data=user_data.hex())
        body = struct.pack("<II", status, len(report)) + b"\x00" * 24
        body += report + b"\x00" * (snp_report.REPORT_SIZE - len(report))
        return body

    def check_report_request(self, plaintext, vmpck_id):
        """Return the MSG_REPORT_RSP status for a MSG_REPORT_REQ payload."""
        if len(plaintext) != REPORT_REQ_SIZE:
            self.log("snp_report_rejected", reason="request size %d is not 96"
                     % len(plaintext))
            return SEV_RET_INVALID_PARAM
        vmpl, flags = struct.unpack_from("<II", plaintext, 0x40)
        key_sel = flags & 3
        if vmpl < vmpck_id or vmpl > 3:
            self.log("snp_report_rejected", reason="VMPL %d is outside %d..3"
                     % (vmpl, vmpck_id))
            return SEV_RET_INVALID_PARAM
        if flags & ~3 or any(plaintext[0x48:REPORT_REQ_SIZE]):
            self.log("snp_report_rejected", reason="reserved bits set")
            return SEV_RET_INVALID_PARAM
        if key_sel == KEY_SEL_VLEK:
            self.log("snp_report_rejected", reason="VLEK requested, none "
                     "installed")
            return SEV_RET_INVALID_KEY
        if key_sel == 3:
            self.log("snp_report_rejected", reason="KEY_SEL 3 is reserved")
            return SEV_RET_INVALID_PARAM
        return SEV_RET_SUCCESS

    def make_report(self, user_data, vmpl):
        settings = self.settings
        fields = dict(settings.bytes_fields)
        fields.update({
            "version": settings.report_version,
            "generation": settings.product,
            "tcb": settings.tcb,
            "guest_svn": settings.guest_svn,
            "policy": settings.policy,
            "vmpl": vmpl,
            "platform_info": settings.platform_info,
            "key_info": snp_report.KEY_INFO_SIGNING_VCEK,
            "report_data": bytes(user_data),
            "firmware": settings.firmware,
            "launch_mit_vector": settings.launch_mit_vector,
            "current_mit_vector": settings.current_mit_vector,
        })
        body = snp_report.build_report_body(fields)
        return snp_report.sign_report(body, self.pki.vcek_key)
