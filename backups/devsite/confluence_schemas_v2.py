"""Confluence Cloud REST API v2 schemas, transcribed from Atlassian's published OpenAPI
document (openapi-v2.v3.json) for the operations the contract server plays.

Mechanically transcribed, nothing added: the named schemas those operations use and every
schema they refer to, with the document's own names, property types, enums, `required` lists
and `additionalProperties` settings. Left out: descriptions, examples and titles. Read as JSON
Schema: OpenAPI's `nullable: true` is `"null"` among the types; the schemas the document writes
inline in an operation (`MultiEntityResult<Page>`, a single entity with `_links.base`, the
request bodies) are named here after it (`MultiEntityResultPage`, `PageSingleWithBase`,
`PageCreateRequest`). One reading: the document's `oneOf` of a body-write object and its
nested form is read as `anyOf` — neither alternative requires a property, so every body
matches both and a literal `oneOf` would refuse every body the API accepts.

The document is permissive (hardly anything is required, additional properties are allowed),
so what it checks is the types, enums and shapes of what is there: that is what it promises.
"""

SCHEMAS_V2: dict[str, dict] = {
    "BlogPostCreateRequest": {
        "type": "object",
        "required": ["spaceId"],
        "properties": {
            "spaceId": {"type": "string"},
            "status": {"enum": ["current", "draft"], "type": "string"},
            "body": {
                "anyOf": [
                    {"$ref": "#/components/schemas/BlogPostBodyWrite"},
                    {"$ref": "#/components/schemas/BlogPostNestedBodyWrite"},
                ]
            },
        },
    },
    "BlogPostSingleWithBase": {
        "allOf": [
            {"$ref": "#/components/schemas/BlogPostSingle"},
            {
                "type": "object",
                "properties": {
                    "_links": {"type": "object", "properties": {"base": {"type": "string"}}}
                },
            },
        ]
    },
    "FooterCommentModelWithBase": {
        "allOf": [
            {"$ref": "#/components/schemas/FooterCommentModel"},
            {
                "type": "object",
                "properties": {
                    "_links": {"type": "object", "properties": {"base": {"type": "string"}}}
                },
            },
        ]
    },
    "MultiEntityResultAttachment": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/AttachmentBulk"}},
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultBlogPost": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/BlogPostBulk"}},
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultBlogPostCommentModel": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/BlogPostCommentModel"},
            },
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultBlogPostInlineCommentModel": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/BlogPostInlineCommentModel"},
            },
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultLabel": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultPage": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/PageBulk"}},
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultPageCommentModel": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/PageCommentModel"},
            },
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultPageInlineCommentModel": {
        "type": "object",
        "properties": {
            "results": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/PageInlineCommentModel"},
            },
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "MultiEntityResultSpace": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/SpaceBulk"}},
            "_links": {"$ref": "#/components/schemas/MultiEntityLinks"},
        },
    },
    "PageCreateRequest": {
        "type": "object",
        "required": ["spaceId"],
        "properties": {
            "spaceId": {"type": "string"},
            "status": {"enum": ["current", "draft"], "type": "string"},
            "parentId": {"type": "string"},
            "body": {
                "anyOf": [
                    {"$ref": "#/components/schemas/PageBodyWrite"},
                    {"$ref": "#/components/schemas/PageNestedBodyWrite"},
                ]
            },
        },
    },
    "PageSingleWithBase": {
        "allOf": [
            {"$ref": "#/components/schemas/PageSingle"},
            {
                "type": "object",
                "properties": {
                    "_links": {"type": "object", "properties": {"base": {"type": "string"}}}
                },
            },
        ]
    },
    "PageUpdateRequest": {
        "type": "object",
        "required": ["id", "status", "title", "body", "version"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["current", "draft"], "type": "string"},
            "spaceId": {"format": "string"},
            "parentId": {"format": "string"},
            "ownerId": {"format": "string"},
            "body": {
                "anyOf": [
                    {"$ref": "#/components/schemas/PageBodyWrite"},
                    {"$ref": "#/components/schemas/PageNestedBodyWrite"},
                ]
            },
            "version": {
                "type": "object",
                "properties": {
                    "number": {"format": "int32", "type": "integer"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "SpaceBulkWithBase": {
        "allOf": [
            {"$ref": "#/components/schemas/SpaceBulk"},
            {
                "type": "object",
                "properties": {
                    "_links": {"type": "object", "properties": {"base": {"type": "string"}}}
                },
            },
        ]
    },
    "SpaceCreateRequest": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "key": {"type": "string"},
            "alias": {"type": "string"},
            "roleAssignments": {
                "type": "object",
                "properties": {
                    "principal": {"$ref": "#/components/schemas/Principal"},
                    "roleId": {"type": "string"},
                },
            },
        },
    },
    "SpaceSingleWithBase": {
        "allOf": [
            {"$ref": "#/components/schemas/SpaceSingle"},
            {
                "type": "object",
                "properties": {
                    "_links": {"type": "object", "properties": {"base": {"type": "string"}}}
                },
            },
        ]
    },
    "AbstractPageLinks": {
        "type": "object",
        "properties": {
            "webui": {"type": "string"},
            "editui": {"type": "string"},
            "tinyui": {"type": "string"},
        },
    },
    "AttachmentBulk": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "createdAt": {"type": "string", "format": "date-time"},
            "pageId": {"type": "string"},
            "blogPostId": {"type": "string"},
            "customContentId": {"type": "string"},
            "mediaType": {"type": "string"},
            "mediaTypeDescription": {"type": "string"},
            "comment": {"type": "string"},
            "fileId": {"type": "string"},
            "fileSize": {"format": "int64", "type": "integer"},
            "webuiLink": {"type": "string"},
            "downloadLink": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "_links": {"$ref": "#/components/schemas/AttachmentLinks"},
        },
    },
    "AttachmentLinks": {
        "type": "object",
        "properties": {"webui": {"type": "string"}, "download": {"type": "string"}},
    },
    "BlogPostBodyWrite": {
        "type": "object",
        "properties": {
            "representation": {"enum": ["storage", "atlas_doc_format", "wiki"], "type": "string"},
            "value": {"type": "string"},
        },
    },
    "BlogPostBulk": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/BlogPostContentStatus"},
            "spaceId": {"type": "string"},
            "authorId": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "_links": {"$ref": "#/components/schemas/AbstractPageLinks"},
        },
    },
    "BlogPostCommentModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "blogPostId": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "_links": {"$ref": "#/components/schemas/CommentLinks"},
        },
    },
    "BlogPostContentStatus": {
        "enum": ["current", "draft", "historical", "trashed", "deleted", "any"],
        "type": "string",
    },
    "BlogPostInlineCommentModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "blogPostId": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "resolutionStatus": {"$ref": "#/components/schemas/InlineCommentResolutionStatus"},
            "properties": {"$ref": "#/components/schemas/InlineCommentProperties"},
            "_links": {"$ref": "#/components/schemas/CommentLinks"},
        },
    },
    "BlogPostNestedBodyWrite": {
        "type": "object",
        "properties": {
            "storage": {"$ref": "#/components/schemas/BlogPostBodyWrite"},
            "atlas_doc_format": {"$ref": "#/components/schemas/BlogPostBodyWrite"},
            "wiki": {"$ref": "#/components/schemas/BlogPostBodyWrite"},
        },
    },
    "BlogPostSingle": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/BlogPostContentStatus"},
            "spaceId": {"type": "string"},
            "authorId": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodySingle"},
            "labels": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "properties": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ContentProperty"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "operations": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Operation"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "likes": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Like"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "versions": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "isFavoritedByCurrentUser": {"type": "boolean"},
            "_links": {"$ref": "#/components/schemas/AbstractPageLinks"},
        },
    },
    "BodyBulk": {
        "type": "object",
        "properties": {
            "storage": {"$ref": "#/components/schemas/BodyType"},
            "atlas_doc_format": {"$ref": "#/components/schemas/BodyType"},
        },
    },
    "BodySingle": {
        "type": "object",
        "properties": {
            "storage": {"$ref": "#/components/schemas/BodyType"},
            "atlas_doc_format": {"$ref": "#/components/schemas/BodyType"},
            "view": {"$ref": "#/components/schemas/BodyType"},
        },
    },
    "BodyType": {
        "type": "object",
        "properties": {"representation": {"type": "string"}, "value": {"type": "string"}},
    },
    "CommentBodyWrite": {
        "type": "object",
        "properties": {
            "representation": {"enum": ["storage", "atlas_doc_format", "wiki"], "type": "string"},
            "value": {"type": "string"},
        },
    },
    "CommentLinks": {"type": "object", "properties": {"webui": {"type": "string"}}},
    "CommentNestedBodyWrite": {
        "type": "object",
        "properties": {
            "storage": {"$ref": "#/components/schemas/CommentBodyWrite"},
            "atlas_doc_format": {"$ref": "#/components/schemas/CommentBodyWrite"},
            "wiki": {"$ref": "#/components/schemas/CommentBodyWrite"},
        },
    },
    "ContentProperty": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "value": {},
            "version": {"$ref": "#/components/schemas/Version"},
        },
    },
    "ContentStatus": {
        "enum": ["current", "draft", "archived", "historical", "trashed", "deleted", "any"],
        "type": "string",
    },
    "CreateFooterCommentModel": {
        "type": "object",
        "properties": {
            "blogPostId": {"type": "string"},
            "pageId": {"type": "string"},
            "parentCommentId": {"type": "string"},
            "attachmentId": {"type": "string"},
            "customContentId": {"type": "string"},
            "body": {
                "anyOf": [
                    {"$ref": "#/components/schemas/CommentBodyWrite"},
                    {"$ref": "#/components/schemas/CommentNestedBodyWrite"},
                ]
            },
        },
    },
    "FooterCommentModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "blogPostId": {"type": "string"},
            "pageId": {"type": "string"},
            "attachmentId": {"type": "string"},
            "customContentId": {"type": "string"},
            "parentCommentId": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "properties": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ContentProperty"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "operations": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Operation"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "likes": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Like"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "versions": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "body": {"$ref": "#/components/schemas/BodySingle"},
            "_links": {"$ref": "#/components/schemas/CommentLinks"},
        },
    },
    "InlineCommentProperties": {
        "type": "object",
        "properties": {
            "inlineMarkerRef": {"type": "string"},
            "inlineOriginalSelection": {"type": "string"},
            "inline-marker-ref": {"type": "string"},
            "inline-original-selection": {"type": "string"},
        },
    },
    "InlineCommentResolutionStatus": {
        "enum": ["open", "reopened", "resolved", "dangling"],
        "type": "string",
    },
    "Label": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "prefix": {"type": "string"},
        },
    },
    "Like": {"type": "object", "properties": {"accountId": {"type": "string"}}},
    "MultiEntityLinks": {
        "type": "object",
        "properties": {"next": {"type": "string"}, "base": {"type": "string"}},
    },
    "Operation": {
        "type": "object",
        "properties": {"operation": {"type": "string"}, "targetType": {"type": "string"}},
    },
    "OptionalFieldLinks": {"type": "object", "properties": {"self": {"type": "string"}}},
    "OptionalFieldMeta": {
        "type": "object",
        "properties": {"hasMore": {"type": "boolean"}, "cursor": {"type": "string"}},
    },
    "PageBodyWrite": {
        "type": "object",
        "properties": {
            "representation": {"enum": ["storage", "atlas_doc_format", "wiki"], "type": "string"},
            "value": {"type": "string"},
        },
    },
    "PageBulk": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "spaceId": {"type": "string"},
            "parentId": {"type": "string"},
            "parentType": {"$ref": "#/components/schemas/ParentContentType"},
            "position": {"format": "int32", "type": ["integer", "null"]},
            "authorId": {"type": "string"},
            "ownerId": {"type": ["string", "null"]},
            "lastOwnerId": {"type": ["string", "null"]},
            "createdAt": {"type": "string", "format": "date-time"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "_links": {"$ref": "#/components/schemas/AbstractPageLinks"},
        },
    },
    "PageCommentModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "pageId": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "_links": {"$ref": "#/components/schemas/CommentLinks"},
        },
    },
    "PageInlineCommentModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "pageId": {"type": "string"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodyBulk"},
            "resolutionStatus": {"$ref": "#/components/schemas/InlineCommentResolutionStatus"},
            "properties": {"$ref": "#/components/schemas/InlineCommentProperties"},
            "_links": {"$ref": "#/components/schemas/CommentLinks"},
        },
    },
    "PageNestedBodyWrite": {
        "type": "object",
        "properties": {
            "storage": {"$ref": "#/components/schemas/PageBodyWrite"},
            "atlas_doc_format": {"$ref": "#/components/schemas/PageBodyWrite"},
            "wiki": {"$ref": "#/components/schemas/PageBodyWrite"},
        },
    },
    "PageSingle": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {"$ref": "#/components/schemas/ContentStatus"},
            "spaceId": {"type": "string"},
            "parentId": {"type": "string"},
            "parentType": {"$ref": "#/components/schemas/ParentContentType"},
            "position": {"format": "int32", "type": ["integer", "null"]},
            "authorId": {"type": "string"},
            "ownerId": {"type": ["string", "null"]},
            "lastOwnerId": {"type": ["string", "null"]},
            "createdAt": {"type": "string", "format": "date-time"},
            "version": {"$ref": "#/components/schemas/Version"},
            "body": {"$ref": "#/components/schemas/BodySingle"},
            "labels": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "properties": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ContentProperty"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "operations": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Operation"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "likes": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Like"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "versions": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "isFavoritedByCurrentUser": {"type": "boolean"},
            "_links": {"$ref": "#/components/schemas/AbstractPageLinks"},
        },
    },
    "ParentContentType": {
        "type": "string",
        "enum": ["page", "whiteboard", "database", "embed", "folder"],
    },
    "Principal": {
        "type": "object",
        "properties": {
            "principalType": {"$ref": "#/components/schemas/PrincipalType"},
            "principalId": {"type": "string"},
        },
    },
    "PrincipalType": {"type": "string", "enum": ["USER", "GROUP", "ACCESS_CLASS"]},
    "SpaceBulk": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "name": {"type": "string"},
            "type": {"$ref": "#/components/schemas/SpaceType"},
            "status": {"$ref": "#/components/schemas/SpaceStatus"},
            "authorId": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "homepageId": {"type": "string"},
            "icon": {"$ref": "#/components/schemas/SpaceIcon"},
            "_links": {"$ref": "#/components/schemas/SpaceLinks"},
        },
    },
    "SpaceDescription": {
        "type": "object",
        "properties": {
            "plain": {"$ref": "#/components/schemas/BodyType"},
            "view": {"$ref": "#/components/schemas/BodyType"},
        },
    },
    "SpaceIcon": {
        "type": "object",
        "properties": {"path": {"type": "string"}, "apiDownloadLink": {"type": "string"}},
    },
    "SpaceLinks": {"type": "object", "properties": {"webui": {"type": "string"}}},
    "SpacePermissionAssignment": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "principal": {
                "type": "object",
                "properties": {
                    "type": {"enum": ["user", "group", "role"], "type": "string"},
                    "id": {"type": "string"},
                },
            },
            "operation": {
                "type": "object",
                "properties": {
                    "key": {
                        "enum": [
                            "use",
                            "create",
                            "read",
                            "update",
                            "delete",
                            "copy",
                            "move",
                            "export",
                            "purge",
                            "purge_version",
                            "administer",
                            "restore",
                            "create_space",
                            "restrict_content",
                            "archive",
                        ],
                        "type": "string",
                    },
                    "targetType": {
                        "enum": [
                            "page",
                            "blogpost",
                            "comment",
                            "attachment",
                            "whiteboard",
                            "database",
                            "embed",
                            "folder",
                            "space",
                            "application",
                            "userProfile",
                        ],
                        "type": "string",
                    },
                },
            },
        },
    },
    "SpaceProperty": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "value": {},
            "createdAt": {"type": "string", "format": "date-time"},
            "createdBy": {"type": "string"},
            "version": {
                "type": "object",
                "properties": {
                    "createdAt": {"type": "string", "format": "date-time"},
                    "createdBy": {"type": "string"},
                    "message": {"type": "string"},
                    "number": {"type": "integer", "format": "int32"},
                },
            },
        },
    },
    "SpaceSingle": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string"},
            "name": {"type": "string"},
            "type": {"$ref": "#/components/schemas/SpaceType"},
            "status": {"$ref": "#/components/schemas/SpaceStatus"},
            "authorId": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "homepageId": {"type": "string"},
            "icon": {"$ref": "#/components/schemas/SpaceIcon"},
            "labels": {
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "properties": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/SpaceProperty"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "operations": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Operation"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "permissions": {
                "type": "object",
                "properties": {
                    "results": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/SpacePermissionAssignment"},
                    },
                    "meta": {"$ref": "#/components/schemas/OptionalFieldMeta"},
                    "_links": {"$ref": "#/components/schemas/OptionalFieldLinks"},
                },
            },
            "_links": {"$ref": "#/components/schemas/SpaceLinks"},
        },
    },
    "SpaceStatus": {"enum": ["current", "archived"], "type": "string"},
    "SpaceType": {
        "enum": ["global", "collaboration", "knowledge_base", "personal"],
        "type": "string",
    },
    "Version": {
        "type": "object",
        "properties": {
            "createdAt": {"type": "string", "format": "date-time"},
            "message": {"type": "string"},
            "number": {"format": "int32", "type": "integer"},
            "minorEdit": {"type": "boolean"},
            "authorId": {"type": "string"},
        },
    },
}
