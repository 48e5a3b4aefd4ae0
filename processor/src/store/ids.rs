//! The typed ids as SQL text: bound and read like the `String`s they hold, so
//! statements take `&AppId` where they took `&str`. (The ids themselves are
//! domain types and know nothing of SQL.)

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

use crate::domain::ids::{AccountId, AppId, ContainerId, MediaId, RequestId};

macro_rules! sql_text {
    ($($name:ident),*) => {$(
        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <String as Type<Any>>::type_info()
            }
        }

        impl<'q> Encode<'q, Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <String as Encode<'q, Any>>::encode(self.as_str().to_owned(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                <String as Decode<'r, Any>>::decode(value).map($name::from)
            }
        }
    )*};
}

sql_text!(AppId, AccountId, MediaId, ContainerId, RequestId);
