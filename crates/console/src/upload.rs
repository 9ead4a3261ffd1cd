//! Files uploaded through a plain form (`multipart/form-data`): its text
//! fields and its files, read whole — after the person was authenticated
//! (the `Person` extractor runs before the body is read) and within the
//! route's body limit.

use std::collections::BTreeMap;

use axum::extract::Multipart;

/// A form's text fields and files (field → file name and bytes).
#[derive(Default)]
pub(crate) struct Upload {
    text: BTreeMap<String, String>,
    files: BTreeMap<String, (String, Vec<u8>)>,
}

impl Upload {
    /// A text field, empty when absent.
    pub(crate) fn text(&self, name: &str) -> &str {
        self.text.get(name).map_or("", String::as_str)
    }

    /// Takes a file out (to move it into a blocking task), if one was
    /// chosen and it is not empty.
    pub(crate) fn take_file(&mut self, name: &str) -> Option<(String, Vec<u8>)> {
        self.files.remove(name).filter(|(_, b)| !b.is_empty())
    }
}

/// Reads the form; the message key of what went wrong otherwise.
pub(crate) async fn read(mut form: Multipart) -> Result<Upload, &'static str> {
    let mut up = Upload::default();
    while let Some(field) = form.next_field().await.map_err(|_| "upload.bad")? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        match field.file_name() {
            Some(file) => {
                // The browser's file name, reduced to its last part.
                let file = file
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("upload")
                    .to_owned();
                let bytes = field.bytes().await.map_err(|_| "upload.too_large")?;
                up.files.insert(name, (file, bytes.to_vec()));
            }
            None => {
                let text = field.text().await.map_err(|_| "upload.bad")?;
                up.text.insert(name, text);
            }
        }
    }
    Ok(up)
}
