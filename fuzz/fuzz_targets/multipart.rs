//! Material uploads as browsers post them (multipart/form-data, read the way
//! the node reads them: the `material` text and the `file`, each bounded),
//! and the file type judged by content.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() else { return };
    rt.block_on(async {
        let body = bytes::Bytes::copy_from_slice(data);
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
        let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(11 << 20).per_field(10 << 20));
        let mut form = multer::Multipart::with_constraints(stream, "XyZ", constraints);
        while let Ok(Some(field)) = form.next_field().await {
            match field.name() {
                Some("material") => {
                    let _ = field.text().await;
                }
                Some("file") => {
                    let _ = field.file_name().map(str::to_string);
                    if let Ok(bytes) = field.bytes().await {
                        let _ = yiwang_case::detect_file_type(&bytes);
                    }
                }
                _ => {}
            }
        }
    });
});
