"""Reading an incoming email: headers that survive malformation, bodies in any charset, forwards."""

import datetime as dt

from service.intake.message import html_to_text, message_id_of, read_message

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def raw(headers: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    return (
        f"From: Aroha Ngata <Aroha@Example.NZ>\r\nTo: info@ipscentral.test\r\nSubject: Cert\r\n{headers}"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    ).encode() + body


def test_headers_sender_and_date():
    message = read_message(
        raw("Date: Thu, 05 Mar 2026 19:12:44 +1300\r\nMessage-ID: <a@b>\r\nReply-To: x@y.org\r\n", b"Hi"), NOW
    )
    assert message.sender == "aroha@example.nz" and message.sender_name == "Aroha Ngata"
    assert message.reply_to == "x@y.org"
    assert message.sent == dt.datetime(2026, 3, 5, 19, 12, 44, tzinfo=dt.timezone(dt.timedelta(hours=13)))
    assert message.message_id == "<a@b>"


def test_missing_or_broken_headers_do_not_stop_reading():
    message = read_message(raw("Date: not a date\r\nMessage-ID: <[broken@>\r\n", b"Hi"), NOW)
    assert message.sent == NOW
    assert message.message_id
    without = raw("", b"Hello")
    assert read_message(without, NOW).message_id == message_id_of(without)
    assert message_id_of(without).startswith("<sha256-")


def test_charsets_fall_back_when_the_label_is_wrong_or_unknown():
    assert "Ángel" in read_message(raw("", "Miguel Ángel".encode(), "text/plain; charset=us-ascii"), NOW).text
    assert (
        "Ángel" in read_message(raw("", "Miguel Ángel".encode(), "text/plain; charset=x-unknown"), NOW).text
    )
    curly = "It\u2019s the 4 March session".encode("cp1252")
    assert "It\u2019s" in read_message(raw("", curly, "text/plain; charset=windows-1252"), NOW).text


def test_html_only_reads_as_text_and_blockquotes_as_quotes():
    html = b"<div><p>I was at the <b>4 March</b> session.</p><blockquote><p>On 1 March we wrote</p></blockquote></div>"
    message = read_message(raw("", html, "text/html; charset=utf-8"), NOW)
    assert message.text == "I was at the 4 March session."
    assert "> On 1 March we wrote" in html_to_text(html.decode())


def test_a_forwarded_message_is_kept_apart_from_the_new_text():
    inner = b"From: a@b.org\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\nIt was on 4 March with Jane.\r\n"
    body = (
        b"--B\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--B--\r\n"
    )
    message = read_message(raw("", body, 'multipart/mixed; boundary="B"'), NOW)
    assert message.text == "See below."
    assert "4 March" in message.forwarded
