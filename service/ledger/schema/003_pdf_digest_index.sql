-- POST /verify/pdf finds the certificate whose stored PDF has an uploaded file's SHA-256.
CREATE INDEX certificates_pdf_sha256 ON certificates (pdf_sha256);
