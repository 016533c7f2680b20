//! `ApiJson`: axum's `Json` with this API's error bodies (413 with the
//! limit, 415, 400 naming the bad field).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::state::AppState;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(r)) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::BodyTooLarge { limit: state.config.max_body_bytes })
            }
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "send the request body as JSON with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::BadRequest(format!("the request body does not fit: {}", e.body_text())))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(AppError::BadRequest(format!("the request body is not valid JSON: {}", e.body_text())))
            }
            Err(other) => Err(AppError::BadRequest(other.body_text())),
        }
    }
}
