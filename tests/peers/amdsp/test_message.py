"""Guest message format: the self-generated vector, seal/open round trips
and the checks on malformed messages."""

import struct
import unittest

import guest_client
import snp_msg


def load_vector():
    values = {}
    with open(guest_client.vector_path("snp_guest_msg_selfgen.txt")) as fh:
        for line in fh:
            if not line.strip():
                continue
            key, value = line[:18].strip(), line[18:].strip()
            values[key] = value
    return values


class SelfGeneratedVector(unittest.TestCase):
    def setUp(self):
        self.vector = load_vector()
        self.vmpck = bytes.fromhex(self.vector["VMPCK"])
        self.header = bytes.fromhex(self.vector["REQ hdr (0x60)"])
        self.ciphertext = bytes.fromhex(self.vector["REQ ciphertext"])
        self.plaintext = bytes.fromhex(self.vector["REQ plaintext"])

    def test_vector_fields_parse(self):
        header = snp_msg.parse_header(self.header)
        self.assertEqual(header.msg_seqno, 1)
        self.assertEqual(header.msg_type, snp_msg.MSG_REPORT_REQ)
        self.assertEqual(header.msg_version, 1)
        self.assertEqual(header.msg_sz, 96)
        self.assertEqual(header.msg_vmpck, 0)
        self.assertEqual(header.algo, 1)
        self.assertEqual(header.hdr_version, 1)
        self.assertEqual(header.hdr_sz, 0x60)
        self.assertFalse(header.reserved_nonzero)

    def test_request_decrypts(self):
        page = snp_msg.pad_page(self.header + self.ciphertext)
        header, plaintext = snp_msg.open_message(self.vmpck, page)
        self.assertEqual(plaintext, self.plaintext)
        self.assertEqual(header.msg_seqno, 1)

    def test_request_reencrypts_byte_exact(self):
        header = snp_msg.MessageHeader(1, snp_msg.MSG_REPORT_REQ, 1, 0, 0)
        sealed = snp_msg.seal(self.vmpck, header, self.plaintext)
        self.assertEqual(sealed[:0x60], self.header)
        self.assertEqual(sealed[0x60:], self.ciphertext)

    def test_guest_client_encrypts_same_bytes(self):
        guest = guest_client.SnpGuest(self.vmpck)
        page = guest.report_request(self.plaintext[:64])
        self.assertEqual(page[:0x60], self.header)
        self.assertEqual(page[0x60:0x60 + 96], self.ciphertext)
        self.assertEqual(page[0x60 + 96:], bytes(4096 - 0x60 - 96))

    def test_response_header_matches_firmware_rules(self):
        response = snp_msg.parse_header(
            bytes.fromhex(self.vector["RSP hdr (0x60)"]))
        self.assertEqual(response.msg_seqno, 2)
        self.assertEqual(response.msg_type, snp_msg.MSG_REPORT_RSP)
        self.assertEqual(response.msg_version, 1)
        self.assertEqual(response.msg_sz, 0x4C0)
        self.assertEqual(response.msg_vmpck, 0)
        ours = snp_msg.MessageHeader(2, snp_msg.MSG_REPORT_RSP, 1, 0x4C0, 0)
        self.assertEqual(ours.aad(),
                         bytes.fromhex(self.vector["RSP hdr (0x60)"])[0x30:])


class SealAndOpen(unittest.TestCase):
    vmpck = bytes(range(0x40, 0x60))

    def sealed_page(self, seqno=7, payload=b"report request" * 3):
        header = snp_msg.MessageHeader(seqno, snp_msg.MSG_REPORT_REQ, 1, 0,
                                       2)
        return snp_msg.pad_page(snp_msg.seal(self.vmpck, header, payload))

    def test_round_trip(self):
        page = self.sealed_page()
        header, plaintext = snp_msg.open_message(self.vmpck, page)
        self.assertEqual(plaintext, b"report request" * 3)
        self.assertEqual(header.msg_vmpck, 2)
        self.assertEqual(header.msg_seqno, 7)
        self.assertEqual(page[16:32], bytes(16))

    def test_iv_is_little_endian_seqno(self):
        self.assertEqual(snp_msg.iv_for_seqno(0x0102030405060708),
                         bytes.fromhex("080706050403020100000000"))

    def test_guest_decrypts_sealed_page(self):
        guest = guest_client.SnpGuest(self.vmpck, vmpck_id=2)
        header = snp_msg.MessageHeader(8, snp_msg.MSG_REPORT_RSP, 1, 0, 2)
        page = snp_msg.pad_page(snp_msg.seal(self.vmpck, header, b"x" * 50))
        self.assertEqual(guest.decrypt_response(page, 7), b"x" * 50)

    def test_flipped_ciphertext_rejected(self):
        page = bytearray(self.sealed_page())
        page[0x61] ^= 1
        with self.assertRaisesRegex(snp_msg.MessageError, "tag"):
            snp_msg.open_message(self.vmpck, bytes(page))

    def test_changed_aad_byte_rejected(self):
        page = bytearray(self.sealed_page())
        page[0x35] = 2
        with self.assertRaisesRegex(snp_msg.MessageError, "tag"):
            snp_msg.open_message(self.vmpck, bytes(page))

    def test_reserved_aad_byte_rejected(self):
        page = bytearray(self.sealed_page())
        page[0x50] = 1
        self.assertTrue(snp_msg.parse_header(bytes(page)).reserved_nonzero)
        with self.assertRaisesRegex(snp_msg.MessageError, "tag"):
            snp_msg.open_message(self.vmpck, bytes(page))

    def test_changed_seqno_rejected(self):
        page = bytearray(self.sealed_page())
        struct.pack_into("<Q", page, 0x20, 9)
        with self.assertRaisesRegex(snp_msg.MessageError, "tag"):
            snp_msg.open_message(self.vmpck, bytes(page))

    def test_wrong_key_rejected(self):
        with self.assertRaisesRegex(snp_msg.MessageError, "tag"):
            snp_msg.open_message(bytes(32), self.sealed_page())

    def test_oversized_msg_sz_rejected(self):
        page = bytearray(self.sealed_page())
        struct.pack_into("<H", page, 0x36, 4001)
        with self.assertRaisesRegex(snp_msg.MessageError, "does not fit"):
            snp_msg.open_message(self.vmpck, bytes(page))

    def test_short_page_rejected(self):
        with self.assertRaisesRegex(snp_msg.MessageError, "shorter"):
            snp_msg.parse_header(bytes(0x5F))

    def test_payload_limit(self):
        header = snp_msg.MessageHeader(1, 5, 1, 0, 0)
        with self.assertRaisesRegex(snp_msg.MessageError, "exceeds"):
            snp_msg.seal(self.vmpck, header, bytes(4001))


if __name__ == "__main__":
    unittest.main()
