"""Confluence Cloud REST API v1 schemas, transcribed from Atlassian's published OpenAPI
document (swagger.v3.json) for the v1 operations the contract server plays: the current user,
content, labels, attachments, spaces and long tasks.

Mechanically transcribed: the named schemas those operations use and every schema they refer
to, with the document's own names, property types, enums, `required` lists and
`additionalProperties` settings; descriptions, examples and titles left out, OpenAPI's
`nullable: true` read as `"null"` among the types. Two departures, both widening: the request
bodies the document writes inline are named here (`ContentArchiveRequest`,
`LabelCreateRequest`), and a space's look and feel, theme and settings and a body's web
resources and embedded content (which neither this server nor its clients send) are any
object rather than their large schemas.
"""

SCHEMAS_V1: dict[str, dict] = {
    "ContentArchiveRequest": {
        "type": "object",
        "properties": {
            "pages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer", "format": "int64"}},
                },
            }
        },
    },
    "LabelCreateRequest": {
        "oneOf": [
            {"$ref": "#/components/schemas/LabelCreateArray"},
            {"$ref": "#/components/schemas/LabelCreate"},
        ]
    },
    "Container": {"type": ["object", "null"], "additionalProperties": True},
    "Content": {
        "required": ["status", "type"],
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "status": {"type": "string"},
            "space": {"$ref": "#/components/schemas/Space"},
            "history": {"$ref": "#/components/schemas/ContentHistory"},
            "version": {"$ref": "#/components/schemas/Version"},
            "ancestors": {
                "type": ["array", "null"],
                "items": {"$ref": "#/components/schemas/Content"},
            },
            "operations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/OperationCheckResult"},
            },
            "children": {"$ref": "#/components/schemas/ContentChildren"},
            "childTypes": {"$ref": "#/components/schemas/ContentChildType"},
            "descendants": {"$ref": "#/components/schemas/ContentChildren"},
            "container": {"$ref": "#/components/schemas/Container"},
            "body": {
                "type": "object",
                "properties": {
                    "view": {"$ref": "#/components/schemas/ContentBody"},
                    "export_view": {"$ref": "#/components/schemas/ContentBody"},
                    "styled_view": {"$ref": "#/components/schemas/ContentBody"},
                    "storage": {"$ref": "#/components/schemas/ContentBody"},
                    "wiki": {"$ref": "#/components/schemas/ContentBody"},
                    "editor": {"$ref": "#/components/schemas/ContentBody"},
                    "editor2": {"$ref": "#/components/schemas/ContentBody"},
                    "anonymous_export_view": {"$ref": "#/components/schemas/ContentBody"},
                    "atlas_doc_format": {"$ref": "#/components/schemas/ContentBody"},
                    "dynamic": {"$ref": "#/components/schemas/ContentBody"},
                    "_expandable": {
                        "type": "object",
                        "properties": {
                            "editor": {"type": "string"},
                            "view": {"type": "string"},
                            "export_view": {"type": "string"},
                            "styled_view": {"type": "string"},
                            "storage": {"type": "string"},
                            "editor2": {"type": "string"},
                            "anonymous_export_view": {"type": "string"},
                            "atlas_doc_format": {"type": "string"},
                            "wiki": {"type": "string"},
                            "dynamic": {"type": "string"},
                            "raw": {"type": "string"},
                        },
                    },
                },
            },
            "restrictions": {
                "type": "object",
                "properties": {
                    "read": {"$ref": "#/components/schemas/ContentRestriction"},
                    "update": {"$ref": "#/components/schemas/ContentRestriction"},
                    "_expandable": {
                        "type": "object",
                        "properties": {"read": {"type": "string"}, "update": {"type": "string"}},
                    },
                    "_links": {"$ref": "#/components/schemas/GenericLinks"},
                },
            },
            "metadata": {"$ref": "#/components/schemas/ContentMetadata"},
            "macroRenderedOutput": {"type": "object", "additionalProperties": {"type": "object"}},
            "extensions": {"type": "object"},
            "_expandable": {
                "type": "object",
                "properties": {
                    "childTypes": {"type": "string"},
                    "container": {"type": "string"},
                    "metadata": {"type": "string"},
                    "operations": {"type": "string"},
                    "children": {"type": "string"},
                    "restrictions": {"type": "string"},
                    "history": {"type": "string"},
                    "ancestors": {"type": "string"},
                    "body": {"type": "string"},
                    "version": {"type": "string"},
                    "descendants": {"type": "string"},
                    "space": {"type": "string"},
                    "extensions": {"type": "string"},
                    "schedulePublishDate": {"type": "string"},
                    "macroRenderedOutput": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "ContentArray": {
        "required": ["_links", "results", "size"],
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Content"}},
            "start": {"type": "integer", "format": "int32"},
            "limit": {"type": "integer", "format": "int32"},
            "size": {"type": "integer", "format": "int32"},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "ContentBody": {
        "required": ["representation", "value"],
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "representation": {
                "type": "string",
                "enum": [
                    "view",
                    "export_view",
                    "styled_view",
                    "storage",
                    "editor",
                    "editor2",
                    "anonymous_export_view",
                    "wiki",
                    "atlas_doc_format",
                ],
            },
            "embeddedContent": {"type": "array", "items": {"type": "object"}},
            "webresource": {"type": "object"},
            "mediaToken": {
                "type": "object",
                "properties": {
                    "collectionIds": {"type": "array", "items": {"type": "string"}},
                    "contentId": {"type": "string"},
                    "expiryDateTime": {"type": "string"},
                    "fileIds": {"type": "array", "items": {"type": "string"}},
                    "token": {"type": "string"},
                },
            },
            "_expandable": {
                "type": "object",
                "properties": {
                    "content": {"type": "string"},
                    "embeddedContent": {"type": "string"},
                    "webresource": {"type": "string"},
                    "mediaToken": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "ContentBodyCreate": {
        "required": ["representation", "value"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "value": {"type": "string"},
            "representation": {
                "type": "string",
                "enum": [
                    "view",
                    "export_view",
                    "styled_view",
                    "storage",
                    "editor",
                    "editor2",
                    "anonymous_export_view",
                    "wiki",
                    "atlas_doc_format",
                    "plain",
                    "raw",
                ],
            },
        },
    },
    "ContentChildType": {
        "type": "object",
        "properties": {
            "attachment": {
                "required": ["_links", "value"],
                "type": "object",
                "properties": {
                    "value": {"type": "boolean"},
                    "_links": {"$ref": "#/components/schemas/GenericLinks"},
                },
            },
            "comment": {
                "required": ["_links", "value"],
                "type": "object",
                "properties": {
                    "value": {"type": "boolean"},
                    "_links": {"$ref": "#/components/schemas/GenericLinks"},
                },
            },
            "page": {
                "required": ["_links", "value"],
                "type": "object",
                "properties": {
                    "value": {"type": "boolean"},
                    "_links": {"$ref": "#/components/schemas/GenericLinks"},
                },
            },
            "_expandable": {
                "type": "object",
                "properties": {
                    "all": {"type": "object"},
                    "attachment": {"type": "object"},
                    "comment": {"type": "object"},
                    "page": {"type": "object"},
                },
            },
        },
    },
    "ContentChildren": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "attachment": {"$ref": "#/components/schemas/ContentArray"},
            "comment": {"$ref": "#/components/schemas/ContentArray"},
            "page": {"$ref": "#/components/schemas/ContentArray"},
            "_expandable": {
                "type": "object",
                "additionalProperties": True,
                "properties": {
                    "attachment": {"type": "string"},
                    "comment": {"type": "string"},
                    "page": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "ContentCreate": {
        "required": ["type"],
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {
            "id": {"type": ["string", "null"]},
            "type": {"type": "string"},
            "space": {
                "required": ["key"],
                "type": ["object", "null"],
                "properties": {
                    "id": {"type": ["integer", "null"], "format": "int64"},
                    "name": {"type": ["string", "null"]},
                    "icon": {"$ref": "#/components/schemas/Icon"},
                    "identifiers": {"$ref": "#/components/schemas/GlobalSpaceIdentifier"},
                    "homepage": {"$ref": "#/components/schemas/Content"},
                    "type": {"type": ["string", "null"]},
                    "metadata": {
                        "type": ["object", "null"],
                        "properties": {
                            "labels": {"$ref": "#/components/schemas/LabelArray"},
                            "_expandable": {"type": "object"},
                        },
                    },
                    "operations": {
                        "type": ["array", "null"],
                        "items": {"$ref": "#/components/schemas/OperationCheckResult"},
                    },
                    "permissions": {
                        "type": ["array", "null"],
                        "items": {"$ref": "#/components/schemas/SpacePermission"},
                    },
                    "status": {"type": ["string", "null"]},
                    "settings": {"type": "object"},
                    "theme": {"type": "object"},
                    "lookAndFeel": {"type": "object"},
                    "history": {
                        "required": ["createdDate"],
                        "type": "object",
                        "properties": {
                            "createdDate": {"type": "string", "format": "date-time"},
                            "createdBy": {"$ref": "#/components/schemas/User"},
                        },
                    },
                    "key": {"type": "string"},
                    "links": {"type": ["object", "null"], "additionalProperties": True},
                },
            },
            "status": {
                "type": "string",
                "default": "current",
                "enum": ["current", "deleted", "historical", "draft"],
            },
            "container": {
                "required": ["id", "type"],
                "type": ["object", "null"],
                "additionalProperties": True,
                "properties": {
                    "id": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "type": {"type": "string"},
                },
            },
            "ancestors": {
                "type": ["array", "null"],
                "items": {
                    "required": ["id"],
                    "type": "object",
                    "additionalProperties": True,
                    "properties": {"id": {"type": "string"}},
                },
            },
            "body": {
                "type": "object",
                "properties": {
                    "view": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "export_view": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "styled_view": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "storage": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "editor": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "editor2": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "wiki": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "anonymous_export_view": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "plain": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "atlas_doc_format": {"$ref": "#/components/schemas/ContentBodyCreate"},
                    "raw": {"$ref": "#/components/schemas/ContentBodyCreate"},
                },
            },
        },
    },
    "ContentHistory": {
        "required": ["latest"],
        "type": ["object", "null"],
        "properties": {
            "latest": {"type": "boolean"},
            "createdBy": {"$ref": "#/components/schemas/User"},
            "createdDate": {"type": "string", "format": "date-time"},
            "lastUpdated": {"$ref": "#/components/schemas/Version"},
            "previousVersion": {"$ref": "#/components/schemas/Version"},
            "contributors": {
                "type": "object",
                "properties": {"publishers": {"$ref": "#/components/schemas/UsersUserKeys"}},
            },
            "nextVersion": {"$ref": "#/components/schemas/Version"},
            "_expandable": {
                "type": "object",
                "properties": {
                    "lastUpdated": {"type": "string"},
                    "previousVersion": {"type": "string"},
                    "contributors": {"type": "string"},
                    "nextVersion": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "ContentMetadata": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "currentuser": {
                "type": "object",
                "properties": {
                    "favourited": {
                        "type": "object",
                        "properties": {
                            "isFavourite": {"type": "boolean"},
                            "favouritedDate": {"type": "string", "format": "date-time"},
                        },
                    },
                    "lastmodified": {
                        "type": "object",
                        "properties": {
                            "version": {"$ref": "#/components/schemas/Version"},
                            "friendlyLastModified": {"type": "string"},
                        },
                    },
                    "lastcontributed": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "string"},
                            "when": {"type": "string", "format": "date-time"},
                        },
                    },
                    "viewed": {
                        "type": "object",
                        "properties": {
                            "lastSeen": {"type": "string", "format": "date-time"},
                            "friendlyLastSeen": {"type": "string"},
                        },
                    },
                    "scheduled": {"type": "object"},
                    "_expandable": {
                        "type": "object",
                        "properties": {
                            "favourited": {"type": "string"},
                            "lastmodified": {"type": "string"},
                            "lastcontributed": {"type": "string"},
                            "viewed": {"type": "string"},
                            "scheduled": {"type": "string"},
                        },
                    },
                },
            },
            "properties": {"$ref": "#/components/schemas/GenericLinks"},
            "frontend": {"type": "object", "additionalProperties": True},
            "labels": {
                "oneOf": [
                    {"$ref": "#/components/schemas/LabelArray"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
                ]
            },
        },
    },
    "ContentRestriction": {
        "required": ["_expandable", "_links", "operation"],
        "type": "object",
        "properties": {
            "operation": {
                "type": "string",
                "enum": [
                    "administer",
                    "copy",
                    "create",
                    "delete",
                    "export",
                    "move",
                    "purge",
                    "purge_version",
                    "read",
                    "restore",
                    "update",
                    "use",
                ],
            },
            "restrictions": {
                "type": "object",
                "properties": {
                    "user": {"$ref": "#/components/schemas/UserArray"},
                    "group": {"$ref": "#/components/schemas/GroupArray"},
                    "_expandable": {
                        "type": "object",
                        "properties": {"user": {"type": "string"}, "group": {"type": "string"}},
                    },
                },
            },
            "content": {"$ref": "#/components/schemas/Content"},
            "_expandable": {
                "type": "object",
                "properties": {"restrictions": {"type": "string"}, "content": {"type": "string"}},
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "GenericAccountId": {"type": ["string", "null"]},
    "GenericLinks": {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}]
        },
    },
    "GenericUserKey": {"type": ["string", "null"]},
    "GenericUserName": {"type": ["string", "null"]},
    "GlobalSpaceIdentifier": {
        "type": ["object", "null"],
        "required": ["spaceIdentifier"],
        "properties": {"spaceIdentifier": {"type": "string"}},
    },
    "Group": {
        "required": ["name", "type"],
        "type": "object",
        "properties": {
            "type": {"type": "string", "default": "group", "enum": ["group"]},
            "name": {"type": "string"},
            "id": {"type": ["string", "null"]},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "GroupArray": {
        "required": ["limit", "results", "size", "start"],
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}},
            "start": {"type": "integer", "format": "int32"},
            "limit": {"type": "integer", "format": "int32"},
            "size": {"type": "integer", "format": "int32"},
        },
    },
    "GroupCreate": {
        "required": ["name", "type"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "type": {"type": "string", "default": "group", "enum": ["group"]},
            "name": {"type": "string"},
        },
    },
    "Icon": {
        "required": ["height", "isDefault", "path", "width"],
        "type": ["object", "null"],
        "properties": {
            "path": {"type": "string"},
            "width": {"type": "integer", "format": "int32"},
            "height": {"type": "integer", "format": "int32"},
            "isDefault": {"type": "boolean"},
        },
    },
    "Label": {
        "required": ["id", "label", "name", "prefix"],
        "type": "object",
        "properties": {
            "prefix": {"type": "string"},
            "name": {"type": "string"},
            "id": {"type": "string"},
            "label": {"type": "string"},
        },
    },
    "LabelArray": {
        "required": ["results", "size"],
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Label"}},
            "start": {"type": "integer", "format": "int32"},
            "limit": {"type": "integer", "format": "int32"},
            "size": {"type": "integer", "format": "int32"},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "LabelCreate": {
        "required": ["name", "prefix"],
        "type": "object",
        "additionalProperties": True,
        "properties": {"prefix": {"type": "string"}, "name": {"type": "string"}},
    },
    "LabelCreateArray": {"type": "array", "items": {"$ref": "#/components/schemas/LabelCreate"}},
    "LongTaskStatusWithLinks": {
        "required": [
            "_links",
            "elapsedTime",
            "finished",
            "id",
            "messages",
            "name",
            "percentageComplete",
            "successful",
        ],
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {
                "required": ["args", "key"],
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "args": {"type": "array", "items": {"type": "object", "properties": {}}},
                },
            },
            "elapsedTime": {"type": "integer", "format": "int64"},
            "percentageComplete": {"type": "integer", "format": "int32"},
            "successful": {"type": "boolean"},
            "finished": {"type": "boolean"},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
            "status": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            "additionalDetails": {
                "type": "object",
                "properties": {
                    "destinationId": {"type": "string"},
                    "destinationUrl": {"type": "string"},
                    "totalPageNeedToCopy": {"type": "integer"},
                    "additionalProperties": {"type": "string"},
                },
            },
        },
    },
    "Message": {
        "required": ["args"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "translation": {"type": "string"},
            "args": {
                "type": "array",
                "items": {
                    "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]
                },
            },
        },
    },
    "OperationCheckResult": {
        "required": ["operation", "targetType"],
        "type": "object",
        "properties": {
            "operation": {
                "type": "string",
                "enum": [
                    "administer",
                    "archive",
                    "clear_permissions",
                    "copy",
                    "create",
                    "create_space",
                    "delete",
                    "export",
                    "move",
                    "purge",
                    "purge_version",
                    "read",
                    "restore",
                    "restrict_content",
                    "update",
                    "use",
                ],
            },
            "targetType": {"type": "string"},
        },
    },
    "Space": {
        "required": ["_expandable", "_links", "key", "name", "status", "type"],
        "type": ["object", "null"],
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "key": {"type": "string"},
            "name": {"type": "string"},
            "icon": {"$ref": "#/components/schemas/Icon"},
            "homepage": {"$ref": "#/components/schemas/Content"},
            "type": {"type": "string"},
            "metadata": {
                "type": "object",
                "properties": {
                    "labels": {"$ref": "#/components/schemas/LabelArray"},
                    "_expandable": {"type": "object"},
                },
            },
            "operations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/OperationCheckResult"},
            },
            "permissions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SpacePermission"},
            },
            "status": {"type": "string"},
            "settings": {"type": "object"},
            "theme": {"type": "object"},
            "lookAndFeel": {"type": "object"},
            "history": {
                "required": ["createdDate"],
                "type": "object",
                "properties": {
                    "createdDate": {"type": "string", "format": "date-time"},
                    "createdBy": {"$ref": "#/components/schemas/User"},
                },
            },
            "_expandable": {
                "type": "object",
                "properties": {
                    "settings": {"type": "string"},
                    "metadata": {"type": "string"},
                    "operations": {"type": "string"},
                    "lookAndFeel": {"type": "string"},
                    "permissions": {"type": "string"},
                    "icon": {"type": "string"},
                    "theme": {"type": "string"},
                    "history": {"type": "string"},
                    "homepage": {"type": "string"},
                    "identifiers": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "SpaceArray": {
        "required": ["_links", "limit", "results", "size", "start"],
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Space"}},
            "start": {"type": "integer", "format": "int32"},
            "limit": {"type": "integer", "format": "int32"},
            "size": {"type": "integer", "format": "int32"},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "SpaceCreate": {
        "required": ["key", "name"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "key": {"type": "string"},
            "name": {"maxLength": 200, "type": "string"},
            "permissions": {
                "type": ["array", "null"],
                "items": {"$ref": "#/components/schemas/SpacePermissionCreate"},
            },
        },
    },
    "SpaceDescription": {
        "required": ["embeddedContent", "representation", "value"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "value": {"type": "string"},
            "representation": {"type": "string", "enum": ["plain", "view"]},
            "embeddedContent": {"type": "array", "items": {"type": "object", "properties": {}}},
        },
    },
    "SpaceDescriptionCreate": {
        "required": ["plain"],
        "type": ["object", "null"],
        "properties": {
            "plain": {
                "type": "object",
                "additionalProperties": True,
                "properties": {"value": {"type": "string"}, "representation": {"type": "string"}},
            }
        },
    },
    "SpacePermission": {
        "required": ["anonymousAccess", "operation", "unlicensedAccess"],
        "type": "object",
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "subjects": {
                "type": "object",
                "properties": {
                    "user": {
                        "required": ["results", "size"],
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/User"},
                            },
                            "size": {"type": "integer", "format": "int32"},
                            "start": {"type": "integer", "format": "int32"},
                            "limit": {"type": "integer", "format": "int32"},
                        },
                    },
                    "group": {
                        "required": ["results", "size"],
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Group"},
                            },
                            "size": {"type": "integer", "format": "int32"},
                            "start": {"type": "integer", "format": "int32"},
                            "limit": {"type": "integer", "format": "int32"},
                        },
                    },
                    "_expandable": {
                        "type": "object",
                        "properties": {"user": {"type": "string"}, "group": {"type": "string"}},
                    },
                },
            },
            "operation": {"$ref": "#/components/schemas/OperationCheckResult"},
            "anonymousAccess": {"type": "boolean", "default": False},
            "unlicensedAccess": {"type": "boolean", "default": False},
        },
    },
    "SpacePermissionCreate": {
        "required": ["anonymousAccess", "operation", "unlicensedAccess"],
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "subjects": {
                "type": "object",
                "properties": {
                    "user": {
                        "required": ["results", "size"],
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/User"},
                            },
                            "size": {"type": "integer", "format": "int32"},
                        },
                    },
                    "group": {
                        "required": ["results", "size"],
                        "type": "object",
                        "properties": {
                            "results": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/GroupCreate"},
                            },
                            "size": {"type": "integer", "format": "int32"},
                        },
                    },
                },
            },
            "operation": {"$ref": "#/components/schemas/OperationCheckResult"},
            "anonymousAccess": {"type": "boolean", "default": False},
            "unlicensedAccess": {"type": "boolean", "default": False},
        },
    },
    "SpaceUpdate": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "name": {"maxLength": 200, "type": ["string", "null"]},
            "homepage": {"type": ["object", "null"]},
            "type": {"type": "string"},
            "status": {"type": ["string", "null"]},
        },
    },
    "User": {
        "required": ["type"],
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {
            "type": {"type": "string", "enum": ["known", "unknown", "anonymous", "user"]},
            "username": {"$ref": "#/components/schemas/GenericUserName"},
            "userKey": {"$ref": "#/components/schemas/GenericUserKey"},
            "accountId": {"$ref": "#/components/schemas/GenericAccountId"},
            "accountType": {"type": "string", "enum": ["atlassian", "app", ""]},
            "email": {"type": ["string", "null"]},
            "publicName": {"type": "string"},
            "profilePicture": {"$ref": "#/components/schemas/Icon"},
            "displayName": {"type": ["string", "null"]},
            "timeZone": {"type": ["string", "null"]},
            "isExternalCollaborator": {"type": "boolean"},
            "externalCollaborator": {"type": "boolean"},
            "operations": {
                "type": ["array", "null"],
                "items": {"$ref": "#/components/schemas/OperationCheckResult"},
            },
            "details": {"$ref": "#/components/schemas/UserDetails"},
            "personalSpace": {"$ref": "#/components/schemas/Space"},
            "_expandable": {
                "type": "object",
                "properties": {
                    "operations": {"type": "string"},
                    "details": {"type": "string"},
                    "personalSpace": {"type": "string"},
                },
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "UserArray": {
        "required": ["results"],
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "start": {"type": "integer", "format": "int32"},
            "limit": {"type": "integer", "format": "int32"},
            "size": {"type": "integer", "format": "int32"},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "UserDetails": {
        "type": "object",
        "properties": {
            "business": {
                "type": "object",
                "properties": {
                    "position": {"type": "string"},
                    "department": {"type": "string"},
                    "location": {"type": "string"},
                },
            },
            "personal": {
                "type": "object",
                "properties": {
                    "phone": {"type": "string"},
                    "im": {"type": "string"},
                    "website": {"type": "string"},
                    "email": {"type": "string"},
                },
            },
        },
    },
    "UsersUserKeys": {
        "required": ["userKeys"],
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {
            "users": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
            "userKeys": {"type": "array", "items": {"type": "string"}},
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
        },
    },
    "Version": {
        "required": ["minorEdit", "number", "when"],
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {
            "by": {"$ref": "#/components/schemas/User"},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "friendlyWhen": {"type": ["string", "null"]},
            "message": {"type": ["string", "null"]},
            "number": {"type": "integer", "format": "int32"},
            "minorEdit": {"type": "boolean"},
            "content": {"$ref": "#/components/schemas/Content"},
            "collaborators": {"$ref": "#/components/schemas/UsersUserKeys"},
            "_expandable": {
                "type": "object",
                "properties": {"content": {"type": "string"}, "collaborators": {"type": "string"}},
            },
            "_links": {"$ref": "#/components/schemas/GenericLinks"},
            "contentTypeModified": {"type": "boolean"},
            "confRev": {"type": ["string", "null"]},
            "syncRev": {"type": ["string", "null"]},
            "syncRevSource": {"type": ["string", "null"]},
        },
    },
}
