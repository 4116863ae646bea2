//! WHEP request checks before an offer reaches the WebRTC stack: content type, size, and "does
//! the offer have a video section with H.264 in it" (for a clear reason in the 4xx).

use super::error::WhepError;

/// The content type of WHEP offers and answers.
pub const SDP_CONTENT_TYPE: &str = "application/sdp";

/// `Content-Type` must be `application/sdp` (parameters and case ignored).
pub(crate) fn check_content_type(content_type: Option<&str>) -> Result<(), WhepError> {
    let value = content_type.unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(SDP_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(WhepError::ContentType(value.chars().take(100).collect()))
    }
}

/// Text-level checks of an SDP offer: UTF-8, starts with `v=0`, has an `m=video` section that
/// lists an `H264/90000` payload and does not only send.
pub(crate) fn check_offer(body: &[u8], limit: usize) -> Result<&str, WhepError> {
    if body.len() > limit {
        return Err(WhepError::TooLarge {
            size: body.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| WhepError::MalformedSdp(format!("not UTF-8 ({e})")))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return Err(WhepError::MalformedSdp(
            "an SDP offer starts with the line v=0".into(),
        ));
    }
    let mut video_sections = 0usize;
    let mut h264_sections = 0usize;
    let mut in_video = false;
    let mut has_h264 = false;
    let mut sendonly = false;
    let mut close = |in_video: bool, has_h264: bool, sendonly: bool| {
        if in_video {
            video_sections += 1;
            if has_h264 && !sendonly {
                h264_sections += 1;
            }
        }
    };
    for line in text.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            close(in_video, has_h264, sendonly);
            in_video = media.starts_with("video ");
            has_h264 = false;
            sendonly = false;
        } else if in_video {
            if let Some(map) = line.strip_prefix("a=rtpmap:") {
                let codec = map.split_whitespace().nth(1).unwrap_or("");
                if codec.to_ascii_uppercase().starts_with("H264/90000") {
                    has_h264 = true;
                }
            } else if line == "a=sendonly" || line == "a=inactive" {
                sendonly = true;
            }
        }
    }
    close(in_video, has_h264, sendonly);
    if video_sections == 0 {
        return Err(WhepError::NotAcceptable(
            "the offer has no video section (m=video)".into(),
        ));
    }
    if h264_sections == 0 {
        return Err(WhepError::NotAcceptable(
            "no video section offers to receive H.264 (a=rtpmap:<pt> H264/90000, recvonly or sendrecv)"
                .into(),
        ));
    }
    Ok(text)
}

/// Whether an SDP answer of ours sends H.264 in an accepted (port != 0) video section.
pub(crate) fn answer_sends_h264(answer: &str) -> bool {
    let mut found = false;
    let mut in_video = false;
    let mut has_h264 = false;
    let mut sends = false;
    for line in answer.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            found |= in_video && has_h264 && sends;
            let mut words = media.split_whitespace();
            in_video = words.next() == Some("video") && words.next() != Some("0");
            has_h264 = false;
            sends = false;
        } else if in_video {
            if let Some(map) = line.strip_prefix("a=rtpmap:") {
                let codec = map.split_whitespace().nth(1).unwrap_or("");
                has_h264 |= codec.to_ascii_uppercase().starts_with("H264/90000");
            } else if line == "a=sendonly" || line == "a=sendrecv" {
                sends = true;
            }
        }
    }
    found || (in_video && has_h264 && sends)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=mid:0\r\na=recvonly\r\n\
        a=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\n";

    #[test]
    fn content_types() {
        assert!(check_content_type(Some("application/sdp")).is_ok());
        assert!(check_content_type(Some("Application/SDP; charset=utf-8")).is_ok());
        assert_eq!(
            check_content_type(Some("text/plain")).map_err(|e| e.status()),
            Err(415)
        );
        assert_eq!(check_content_type(None).map_err(|e| e.status()), Err(415));
    }

    #[test]
    fn offers() {
        assert!(check_offer(OFFER.as_bytes(), 65536).is_ok());
        let vp8_only = OFFER.replace("H264/90000", "VP9/90000");
        let err = check_offer(vp8_only.as_bytes(), 65536).expect_err("no H.264");
        assert_eq!(err.status(), 422);
        assert!(err.to_string().contains("H.264"), "{err}");
        let sendonly = OFFER.replace("a=recvonly", "a=sendonly");
        assert_eq!(
            check_offer(sendonly.as_bytes(), 65536).map_err(|e| e.status()),
            Err(422)
        );
        assert_eq!(
            check_offer(b"hello", 65536).map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(
            check_offer(&[0xff, 0xfe], 65536).map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(
            check_offer(OFFER.as_bytes(), 10).map_err(|e| e.status()),
            Err(413)
        );
        let audio_only = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(
            check_offer(audio_only.as_bytes(), 65536).map_err(|e| e.status()),
            Err(422)
        );
    }
}
